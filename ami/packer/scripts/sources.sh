#!/bin/bash
# Clones of both repositories with main and the maintained branches, so a boot fetches only
# the PR and what changed since the image was made.
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
: "${BRANCHES:?}"
begin sources.sh BRANCHES

src=/opt/dspace-preview/src
clone() { # url dir
  [ -d "$2/.git" ] || run git clone --no-checkout "$1" "$2"
  local b
  for b in $BRANCHES; do
    # A branch missing from one repository is skipped, not fatal.
    run git -C "$2" fetch --no-tags origin "+refs/heads/$b:refs/remotes/origin/$b" || echo "no branch $b in $1"
  done
  run git -C "$2" checkout -q -f -B preview refs/remotes/origin/main
  run git -C "$2" gc --quiet
}
clone https://github.com/DSpace/DSpace.git "$src/DSpace"
clone https://github.com/DSpace/dspace-angular.git "$src/dspace-angular"
