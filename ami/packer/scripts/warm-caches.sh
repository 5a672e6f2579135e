#!/bin/bash
# Warm the build caches a preview build reuses:
# - UI: the Dockerfile.dist layers up to the dependency install (`npm ci`, or `yarn install`
#   on 8_x) of each branch. BuildKit keys them on the instructions and on package*.json only,
#   so a PR that does not change dependencies skips the install entirely.
# - Backend: the Maven repository is the dspace-dependencies image (pulled by images.sh);
#   the Solr image of each branch is built once so its base layers are cached too.
set -euxo pipefail
: "${BRANCHES:?}"

src=/opt/dspace-preview/src
tag_of() { if [ "$1" = main ]; then echo latest; else echo "$1"; fi; }
work="$(mktemp -d)"

ui="$src/dspace-angular"
for b in $BRANCHES; do
  git -C "$ui" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null || continue
  git -C "$ui" checkout -q -f "refs/remotes/origin/$b"
  # The same instructions as the real Dockerfile.dist, stopping after the install.
  awk '{ print } /^RUN (npm ci|yarn install)/ { exit }' "$ui/Dockerfile.dist" >"$work/Dockerfile.deps"
  docker buildx build --progress plain -f "$work/Dockerfile.deps" -t "dspace-preview-warm/ui-deps:$(tag_of "$b")" "$ui"
done
git -C "$ui" checkout -q -f preview

be="$src/DSpace"
for b in $BRANCHES; do
  git -C "$be" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null || continue
  git -C "$be" checkout -q -f "refs/remotes/origin/$b"
  # A throwaway image name, so the published dspace-solr:<tag> stays as pulled.
  COMPOSE_PROJECT_NAME=warm DSPACE_VER="$(tag_of "$b")" DOCKER_OWNER=dspace-preview-warm \
    docker compose --project-directory "$be" -f "$be/docker-compose.yml" build --progress plain dspacesolr
done
git -C "$be" checkout -q -f preview
rm -rf "$work"
docker system df
