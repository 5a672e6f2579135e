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

# The timeline of a boot: one line per event, `start NAME EPOCH` or `end NAME EPOCH`, in
# $PREVIEW_STATE_DIR/timeline. Phases may overlap (a build runs in the background while the
# foreground starts the database), so each records its own start and end; the health check
# turns the file into JSON and the boot log gets one structured line per finished phase.
timeline_start() { # name
  grep -q "^start $1 " "$PREVIEW_STATE_DIR/timeline" 2>/dev/null && return 0
  printf 'start %s %s\n' "$1" "$(date -u +%s)" >>"$PREVIEW_STATE_DIR/timeline"
}

timeline_end() { # name
  local started now
  started="$(sed -n "s/^start $1 //p" "$PREVIEW_STATE_DIR/timeline" 2>/dev/null | head -n 1)"
  [ -n "$started" ] || return 0
  grep -q "^end $1 " "$PREVIEW_STATE_DIR/timeline" 2>/dev/null && return 0
  now="$(date -u +%s)"
  printf 'end %s %s\n' "$1" "$now" >>"$PREVIEW_STATE_DIR/timeline"
  printf '%s phase-timing {"phase":"%s","start":"%s","end":"%s","seconds":%d}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)" "$((now - started))"
}

# The foreground phase: what the health check and the web page show as "the" phase. The
# previous foreground phase ends here (a background build ends itself).
FOREGROUND_PHASE=""
phase() { # name
  [ -z "$FOREGROUND_PHASE" ] || timeline_end "$FOREGROUND_PHASE"
  FOREGROUND_PHASE="$1"
  CURRENT_PHASE="$1"
  timeline_start "$1"
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
  [ -z "$FOREGROUND_PHASE" ] || timeline_end "$FOREGROUND_PHASE" >/dev/null
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
