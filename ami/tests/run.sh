#!/bin/bash
# ami/tests/run.sh: the instance's tests. shellcheck on every script, the boot and health
# scripts end to end with stub docker/git/curl/aws/IMDS (tests/stubs/stub), static checks
# of the compose layer, and `packer validate` of the image recipe. No network, no Docker.
# Ends with the line "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail

AMI="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); printf 'ok - %s\n' "$1"; }
not_ok() { FAILED=$((FAILED + 1)); printf 'not ok - %s\n' "$1"; shift; [ $# -eq 0 ] || printf '    %s\n' "$@"; }
# check DESCRIPTION COMMAND...: one test.
check() {
  local desc="$1"; shift
  if "$@" >"$WORK/check.out" 2>&1; then ok "$desc"; else not_ok "$desc" "$(tail -n 5 "$WORK/check.out")"; fi
}

# shellcheck source=lib.sh
. "$AMI/tests/lib.sh"
# shellcheck source=static.sh
. "$AMI/tests/static.sh"
# shellcheck source=boot_scenarios.sh
. "$AMI/tests/boot_scenarios.sh"
# shellcheck source=health_scenarios.sh
. "$AMI/tests/health_scenarios.sh"
# shellcheck source=compose_policy.sh
. "$AMI/tests/compose_policy.sh"
# shellcheck source=packer_build.sh
. "$AMI/tests/packer_build.sh"
# shellcheck source=https_proxy.sh
. "$AMI/tests/https_proxy.sh"

# The scripts under test need jq (installed on the AMI); so do the assertions.
if ! command -v jq >/dev/null; then
  not_ok "jq is required (apt-get install -y jq)"
  printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
  exit 1
fi

static_tests
compose_policy_tests
boot_tests
health_tests
https_proxy_tests
packer_build_tests

printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ]
