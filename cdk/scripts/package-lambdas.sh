#!/usr/bin/env bash
# Builds the Lambda zips the CDK app deploys and reports their sizes.
#
#   cdk/scripts/package-lambdas.sh              # arm64 (the stack's default)
#   cdk/scripts/package-lambdas.sh --x86_64     # then deploy with -c lambdaArchitecture=x86_64
#   cdk/scripts/package-lambdas.sh --dry-run    # print what it would build
#
# Output: <target>/lambda/<bin>/bootstrap.zip for the steps and the reaper
#   (check-capacity launch check-health record-url await-expiry extend resume-wait terminate reaper)
#   and the web crate's functions (dspace-preview-web, dspace-preview-pr-status) once it exists.
# <target> is $CARGO_TARGET_DIR or <repo>/target; the CDK app reads <repo>/target/lambda unless
# given -c lambdaDir=<target>/lambda.
#
# cargo-lambda comes from PyPI into the project's virtualenv (.venv): seconds, where
# `cargo install cargo-lambda` takes a quarter of an hour. It brings zig, which cross-links for
# aarch64 without a cross toolchain; `rustup target add aarch64-unknown-linux-gnu` is still needed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
arch="--arm64"
dry_run=false
for arg in "$@"; do
  case "$arg" in
    --arm64) arch="--arm64" ;;
    --x86_64 | --x86-64) arch="--x86-64" ;;
    --dry-run) dry_run=true ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "package-lambdas: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

step_bins=(check-capacity launch check-health record-url await-expiry extend resume-wait terminate reaper)
# The web crate's Lambdas: the app, and the PR-status function (catalog.json otherCrateFunctions).
web_bins=(dspace-preview-web dspace-preview-pr-status)
target="${CARGO_TARGET_DIR:-$repo/target}"

packages=(-p preview-tasks)
bins=("${step_bins[@]}")
if [[ -f "$repo/web/Cargo.toml" ]] && grep -q 'preview-web' "$repo/web/Cargo.toml"; then
  packages+=(-p preview-web)
  bins+=("${web_bins[@]}")
else
  echo "package-lambdas: no web/ crate yet: building the steps only (deploy with -c web=false)" >&2
fi

# Only the functions: the web crate also has a local tool (the recorded-GitHub server).
cmd=(cargo lambda build --release "$arch" --output-format zip "${packages[@]}")
for bin in "${bins[@]}"; do cmd+=(--bin "$bin"); done
if $dry_run; then
  echo "would run: ${cmd[*]}"
  echo "in: $repo (CARGO_TARGET_DIR=$target)"
  for bin in "${bins[@]}"; do echo "would write: $target/lambda/$bin/bootstrap.zip"; done
  exit 0
fi

# cargo-lambda into .venv (the project's virtualenv), unless it is already on PATH.
if ! command -v cargo-lambda >/dev/null 2>&1; then
  if [[ ! -x "$repo/.venv/bin/cargo-lambda" ]]; then
    if [[ ! -x "$repo/.venv/bin/pip" ]]; then
      python3 -m venv "$repo/.venv"
    fi
    echo "package-lambdas: installing cargo-lambda into $repo/.venv" >&2
    "$repo/.venv/bin/pip" install --quiet cargo-lambda
  fi
  export PATH="$repo/.venv/bin:$PATH"
fi
if [[ "$arch" == "--arm64" ]] && command -v rustup >/dev/null 2>&1; then
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
fi

cd "$repo"
echo "package-lambdas: ${cmd[*]}" >&2
start=$(date +%s)
CARGO_TARGET_DIR="$target" "${cmd[@]}"
echo "package-lambdas: built in $(( $(date +%s) - start )) s" >&2

limit=$((6 * 1024 * 1024))
status=0
printf '%-26s %10s  %s\n' binary bytes zip
for bin in "${bins[@]}"; do
  zip="$target/lambda/$bin/bootstrap.zip"
  if [[ ! -f "$zip" ]]; then
    printf '%-26s %10s  %s\n' "$bin" missing "$zip"
    status=1
    continue
  fi
  size=$(stat -c %s "$zip")
  note=""
  if (( size > limit )); then note="  (over the 6 MB target)"; fi
  printf '%-26s %10d  %s (%s)%s\n' "$bin" "$size" "$zip" "$(numfmt --to=iec "$size" 2>/dev/null || echo "$size B")" "$note"
done
if [[ "$target" != "$repo/target" ]]; then
  echo "deploy with: cd cdk && npx cdk deploy -c lambdaDir=$target/lambda" >&2
fi
exit $status
