#!/bin/bash
# Warm the build caches a preview build reuses:
# - UI: the Dockerfile.dist layers up to the dependency install (`npm ci`, or `yarn install`
#   on 8_x) of each branch. BuildKit keys them on the instructions and on package*.json only,
#   so a PR that does not change dependencies skips the install entirely.
# - Backend: the Maven repository is the dspace-dependencies image (pulled by images.sh);
#   the Solr image of each branch is built once so its base layers are cached too.
# - Sample content: the entities assetstore and the AIP files, where the boot looks for them
#   before downloading (ami/files/lib/content.sh: the URLs and the directory come from there).
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
# shellcheck source=../../files/lib/content.sh
. /tmp/dspace-preview-files/lib/content.sh
: "${BRANCHES:?}"
begin warm-caches.sh BRANCHES

# The boot reads these instead of downloading them (content.sh's sample_file).
run mkdir -p "$PREVIEW_SAMPLE_DIR"
for url in "$ENTITIES_ASSETSTORE_URL" "$AIP_ZIP_URL"; do
  run curl -fsSL --retry 3 -o "$PREVIEW_SAMPLE_DIR/${url##*/}" "$url"
done

src=/opt/dspace-preview/src
tag_of() { if [ "$1" = main ]; then echo latest; else echo "$1"; fi; }
work=/tmp/dspace-preview-warm
run mkdir -p "$work"

ui="$src/dspace-angular"
for b in $BRANCHES; do
  if ! git -C "$ui" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null 2>&1; then
    note "no clone of dspace-angular with $b (sources.sh ran dry): no UI cache"
    continue
  fi
  run git -C "$ui" checkout -q -f "refs/remotes/origin/$b"
  # The same instructions as the real Dockerfile.dist, stopping after the install.
  awk '{ print } /^RUN (npm ci|yarn install)/ { exit }' "$ui/Dockerfile.dist" | write "$work/Dockerfile.deps"
  run docker buildx build --progress plain -f "$work/Dockerfile.deps" -t "dspace-preview-warm/ui-deps:$(tag_of "$b")" "$ui"
done
run git -C "$ui" checkout -q -f preview

be="$src/DSpace"
for b in $BRANCHES; do
  if ! git -C "$be" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null 2>&1; then
    note "no clone of DSpace with $b (sources.sh ran dry): no Solr build"
    continue
  fi
  run git -C "$be" checkout -q -f "refs/remotes/origin/$b"
  # A throwaway image name, so the published dspace-solr:<tag> stays as pulled.
  run env COMPOSE_PROJECT_NAME=warm DSPACE_VER="$(tag_of "$b")" DOCKER_OWNER=dspace-preview-warm \
    docker compose --project-directory "$be" -f "$be/docker-compose.yml" build --progress plain dspacesolr
done
run git -C "$be" checkout -q -f preview
run rm -rf "$work"
run docker system df
