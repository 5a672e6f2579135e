# shellcheck shell=bash
# Shared helpers for the preview boot driver: paths, logging, the phase file and failures.
# Sourced by bin/preview-boot; every path can be moved under PREVIEW_FS_ROOT so the tests
# run the real code against a scratch directory.

PREVIEW_FS_ROOT="${PREVIEW_FS_ROOT:-}"
PREVIEW_HOME="${PREVIEW_HOME:-/opt/dspace-preview}"
PREVIEW_STATE_DIR="${PREVIEW_STATE_DIR:-$PREVIEW_FS_ROOT/var/lib/dspace-preview}"
PREVIEW_LOG_DIR="${PREVIEW_LOG_DIR:-$PREVIEW_FS_ROOT/var/log/dspace-preview}"
PREVIEW_SRC_DIR="${PREVIEW_SRC_DIR:-$PREVIEW_FS_ROOT/opt/dspace-preview/src}"
# Seconds between polls while waiting for the stack; the tests set 0.
PREVIEW_POLL_SECONDS="${PREVIEW_POLL_SECONDS:-10}"
# One compose project for every call: volumes and the network are named after it.
# shellcheck disable=SC2034 # used by stack.sh
COMPOSE_PROJECT="preview"

CURRENT_PHASE="booting"

log() {
  printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$CURRENT_PHASE" "$*"
}

# Write a file atomically so the health check never reads half a word.
write_atomic() { # path content
  local tmp="$1.tmp.$$"
  printf '%s\n' "$2" >"$tmp" && mv -f "$tmp" "$1"
}

phase() { # name
  CURRENT_PHASE="$1"
  write_atomic "$PREVIEW_STATE_DIR/phase" "$1"
  log "=== phase $1"
}

# fail REASON MESSAGE: REASON is one word the health check and the UI can branch on
# (merge-conflict, build-failed, container-exited, fetch-failed, timeout, config, boot-failed).
fail() {
  local reason="$1"; shift
  local msg="$reason: $*"
  trap - ERR
  log "FAILED $msg"
  write_atomic "$PREVIEW_STATE_DIR/failure" "$msg"
  printf '%s\n' "$CURRENT_PHASE" >"$PREVIEW_STATE_DIR/failed-phase"
  write_atomic "$PREVIEW_STATE_DIR/phase" "failed"
  exit 1
}

# Any command failing outside an explicit check still ends in a readable failure.
on_error() { # status line command
  local cmd="$3"
  [ "$cmd" != '"$@"' ] || cmd="$LAST_RUN"   # failed inside run(): name the real command
  fail boot-failed "in phase $CURRENT_PHASE, '$cmd' exited $1 (line $2)"
}

# Run a command with its command line in the boot log; on failure return its status.
LAST_RUN=""
run() {
  LAST_RUN="$*"
  log "+ $*"
  "$@"
}

# The published image tag of a DSpace branch: main publishes as "latest".
branch_tag() {
  if [ "$1" = "main" ]; then printf 'latest'; else printf '%s' "$1"; fi
}
