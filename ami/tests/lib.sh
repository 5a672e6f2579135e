# shellcheck shell=bash
# Assertions are single-quoted on purpose (expanded by eval in check); variables are shared
# between the sourced test files.
# shellcheck disable=SC2016,SC2034
# Helpers for the scenarios: a scratch machine per scenario, rendering boot.sh the way the
# launch step does, running it with the stubs first on PATH, and assertions on what the
# stubs recorded.

STUBBED="docker git curl aws systemctl amazon-cloudwatch-agent-ctl unzip ionice"

# The real Compose v2 renderer (`docker compose config` needs no daemon): the test command
# installs Debian's package into .tools/; PREVIEW_COMPOSE_BIN or a v2 docker-compose on PATH
# also do. Empty when there is none.
compose_renderer() {
  local c
  for c in "${PREVIEW_COMPOSE_BIN:-}" "$AMI/../.tools/bin/docker-compose" "$(command -v docker-compose)"; do
    [ -n "$c" ] && [ -x "$c" ] && "$c" version 2>/dev/null | grep -q 'version v\?2' && { printf '%s' "$c"; return; }
  done
}
COMPOSE_RENDERER="$(compose_renderer)"
PUBLIC_HOST="ec2-203-0-113-7.compute-1.amazonaws.com"

# new_machine NAME: sets S (scenario dir) and ROOT (its file system root).
new_machine() {
  S="$WORK/$1"; ROOT="$S/root"
  mkdir -p "$S/bin" "$ROOT/var/lib/dspace-preview"
  local cmd
  for cmd in $STUBBED; do ln -s "$AMI/tests/stubs/stub" "$S/bin/$cmd"; done
  # What the AMI provides: clones of both repositories (the stub git serves each branch's
  # compose files from ami/tests/fixtures/compose/).
  mkdir -p "$ROOT/opt/dspace-preview/src/DSpace/.git" "$ROOT/opt/dspace-preview/src/dspace-angular/.git"
  : >"$S/calls.log"
}

# The config block the launch step writes in place of the marker line.
declare -A CFG
default_config() {
  CFG=(
    [PREVIEW_ID]=dsp-b9876-u1234-202611281930-ab12
    [PREVIEW_STACK]=dspace-preview
    [AWS_REGION]=eu-west-1
    [LOG_GROUP]=/dspace-preview/dspace-preview
    [PARAMETER_PREFIX]=/dspace-preview/dspace-preview/previews/dsp-b9876-u1234-202611281930-ab12
    [BACKEND_REPO]=https://github.com/DSpace/DSpace.git
    [UI_REPO]=https://github.com/DSpace/dspace-angular.git
    [BACKEND_PR]='' [BACKEND_SHA]='' [UI_PR]='' [UI_SHA]=''
    [BACKEND_BRANCH]='' [UI_BRANCH]=''
    [BASE_BRANCH]=main
    [SAMPLE_CONTENT]=none
    [ADMIN_EMAIL]=reviewer@example.org
    [ADMIN_PASSWORD]=Adm1nPassw0rdFromTheLaunchStep
    [ENV_OVERRIDES]=''
  )
}

render_boot() { # out-file
  local block="" key
  for key in "${!CFG[@]}"; do block+="$key='${CFG[$key]}'"$'\n'; done
  awk -v block="$block" '$0 == "# @PREVIEW_CONFIG@" { printf "%s", block; next } { print }' \
    "$AMI/boot/boot.sh" >"$1"
}

# boot NAME [KEY=VALUE...]: render and run the boot script on a new machine. KEY=VALUE
# pairs set config (or, for STUB_* and PREVIEW_*, the environment; AMI_SAMPLES=1: the AMI
# holds the sample data files). The instance is a small one unless a scenario says
# otherwise (PREVIEW_PARALLEL_BUILDS=1: both builds at once; PREVIEW_PARALLEL_CLI=1: admin
# and content in one-off containers while the webapp starts), whatever machine runs the tests.
boot() {
  new_machine "$1"; shift
  default_config
  local env=(PREVIEW_PARALLEL_BUILDS=0 PREVIEW_PARALLEL_CLI=0) kv
  for kv in "$@"; do
    case "$kv" in
      # The HTTPS mode's settings come in the config block, as the launch step writes them.
      PREVIEW_PUBLIC_NAME=*|PREVIEW_ACME_CA=*|PREVIEW_ACME_EMAIL=*) CFG[${kv%%=*}]="${kv#*=}" ;;
      STUB_*|PREVIEW_*=*) env+=("$kv") ;;
      AMI_SAMPLES=1) mkdir -p "$ROOT/opt/dspace-preview/sample"
        echo baked >"$ROOT/opt/dspace-preview/sample/assetstore.tar.gz"
        echo baked >"$ROOT/opt/dspace-preview/sample/dogAndReport.zip" ;;
      *) CFG[${kv%%=*}]="${kv#*=}" ;;
    esac
  done
  render_boot "$S/user-data.sh"
  env STUB_FIXTURES="$AMI/tests/fixtures/compose" STUB_COMPOSE="$COMPOSE_RENDERER" "${env[@]}" \
    PATH="$S/bin:$PATH" STUB_LOG="$S/calls.log" PREVIEW_FS_ROOT="$ROOT" \
    PREVIEW_HOME="$AMI/files" PREVIEW_STATE_DIR="$ROOT/var/lib/dspace-preview" PREVIEW_POLL_SECONDS=0 \
    bash "$S/user-data.sh" >"$S/out.log" 2>&1
  echo $? >"$S/rc"
  # tee (the boot log) may still be writing after the script exits.
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    grep -qE 'preview ready|FAILED' "$ROOT/var/log/dspace-preview/boot.log" 2>/dev/null && break
    sleep 0.1
  done
}

# health [STUB_...=...]: run the health check on the current machine; sets HRC and HOUT.
health() {
  HOUT="$(env "$@" PATH="$S/bin:$PATH" STUB_LOG="$S/calls.log" PREVIEW_FS_ROOT="$ROOT" \
    "$AMI/files/bin/preview-health" 2>"$S/health.err")"
  HRC=$?
}

state() { cat "$ROOT/var/lib/dspace-preview/$1" 2>/dev/null; }
exit_code_is() { [ "$(cat "$S/rc")" = "$1" ]; }
phase_is() { [ "$(state phase)" = "$1" ]; }
# called TEXT...: some recorded call contains every TEXT (an argument or a part of one,
# as the stub logged it, %q-quoted), in that order.
called() { grep -q -- "$(call_pattern "$@")" "$S/calls.log"; }
call_pattern() {
  local pattern="" t
  for t in "$@"; do pattern+="$(printf '%q' "$t" | sed 's/[][\.*^$/]/\\&/g').*"; done
  printf '%s' "$pattern"
}
# in_order TEXT... :: TEXT... :: ...: the first call matching each group (as `called` matches)
# comes after the first call matching the group before it.
in_order() {
  local prev=0 n group=()
  while [ $# -gt 0 ]; do
    group=()
    while [ $# -gt 0 ] && [ "$1" != :: ]; do group+=("$1"); shift; done
    [ $# -eq 0 ] || shift
    n="$(grep -n -m 1 -- "$(call_pattern "${group[@]}")" "$S/calls.log" | cut -d: -f1)"
    [ -n "$n" ] && [ "$n" -gt "$prev" ] || return 1
    prev="$n"
  done
}
not_called() { ! called "$@"; }
# built SERVICE...: a `docker compose ... build` call for exactly these services.
built() { sed -n 's/^docker compose .* build //p' "$S/calls.log" | grep -qxF -- "$*"; }
nothing_built() { ! sed -n 's/^docker compose .* build //p' "$S/calls.log" | grep -q .; }
# The subcommands of the recorded `docker compose` calls, in order (the word after the last -f).
compose_verbs() { sed -n 's/^docker compose .*\.yml \([a-z]*\).*/\1/p' "$S/calls.log"; }
env_has() { grep -qxF -- "$1" "$ROOT/var/lib/dspace-preview/compose.env"; }
failure_starts() { [[ "$(state failure)" == "$1"* ]]; }
# The -f files of the `up` call, one per line, relative to the machine root.
up_files() {
  grep -m 1 ' up -d' "$S/calls.log" | grep -o -- '-f [^ ]*' | cut -c4- | sed "s#^$ROOT##; s#^$AMI#AMI#"
}
files_are() { [ "$(up_files)" = "$(printf '%s\n' "$@")" ]; }
# wait_for_log TEXT: the boot log gets a line containing TEXT within 10 s (work the boot left
# running in the background: the build-cache push, the OAI import).
wait_for_log() {
  local _
  for _ in $(seq 100); do
    grep -qF -- "$1" "$ROOT/var/log/dspace-preview/boot.log" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# oneoffs_are_plain: every recorded `docker compose ... run` is a one-off container of the
# dspace service with nothing added to what the checked model gives it: only --rm, --no-deps,
# -T, -e JAVA_OPTS=..., --entrypoint of a DSpace/tar/bash command (no -v, no ports, no
# privileges, no user or name), and at least one such call exists.
oneoffs_are_plain() {
  local line words i n=0 w
  while IFS= read -r line; do
    eval "words=($line)"
    for ((i = 0; i < ${#words[@]}; i++)); do [ "${words[i]}" != run ] || break; done
    for ((i = i + 1; i < ${#words[@]}; i++)); do
      w="${words[i]}"
      case "$w" in
        --rm|--no-deps|-T) ;;
        -e) i=$((i + 1)); [[ "${words[i]}" == JAVA_OPTS=* ]] || { echo "run with -e ${words[i]}"; return 1; } ;;
        --entrypoint) i=$((i + 1))
          case "${words[i]}" in /dspace/bin/dspace|tar|bash) ;; *) echo "run with --entrypoint ${words[i]}"; return 1 ;; esac ;;
        dspace) break ;;
        *) echo "run with $w: $line"; return 1 ;;
      esac
    done
    [ "${words[i]:-}" = dspace ] || { echo "run of another service: $line"; return 1; }
    [[ " ${words[*]:0:i} " == *" --rm "* && " ${words[*]:0:i} " == *" --no-deps "* ]] || { echo "run without --rm --no-deps: $line"; return 1; }
    n=$((n + 1))
  done < <(grep '^docker compose .* run ' "$S/calls.log")
  [ "$n" -gt 0 ]
}
# timeline_order EVENT... : the timeline's lines (`start NAME`, `end NAME`) come in this order.
timeline_order() {
  local prev=0 n t
  for t in "$@"; do
    n="$(grep -n -m 1 -- "^$t " "$ROOT/var/lib/dspace-preview/timeline" | cut -d: -f1)"
    [ -n "$n" ] && [ "$n" -gt "$prev" ] || return 1
    prev="$n"
  done
}
# log_order TEXT...: the boot log's first lines containing each TEXT come in this order.
log_order() {
  local prev=0 n t
  for t in "$@"; do
    n="$(grep -nF -m 1 -- "$t" "$ROOT/var/log/dspace-preview/boot.log" | cut -d: -f1)"
    [ -n "$n" ] && [ "$n" -gt "$prev" ] || return 1
    prev="$n"
  done
}
phases_were() {
  [ "$(sed -n 's/.*=== phase //p' "$ROOT/var/log/dspace-preview/boot.log" | tr '\n' ' ')" = "$* " ]
}
health_is() { # status exit-code
  [ "$HRC" = "$2" ] && [ "$(jq -r .status <<<"$HOUT")" = "$1" ] && [ "$(wc -l <<<"$HOUT")" = 1 ]
}
health_passed() { [ "$(jq -c .passed <<<"$HOUT")" = "$1" ]; }
health_detail_has() { [[ "$(jq -r .detail <<<"$HOUT")" == *"$1"* ]]; }
