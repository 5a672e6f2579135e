#!/bin/bash
# Pre-pull, per branch, the published images a preview runs or builds on: dspace, dspace-solr,
# the database (postgres or pgcrypto, and the entities loadsql image), dspace-angular -dist,
# dspace-dependencies (the Maven repository the backend build starts from) and the base
# images of the Dockerfiles (JDK, Solr, node). Docker Hub limits anonymous pulls: log in when
# given an account.
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
: "${BRANCHES:?}" "${PROXY_IMAGE:?}"
begin images.sh BRANCHES PROXY_IMAGE DOCKERHUB_USERNAME DOCKERHUB_TOKEN

src=/opt/dspace-preview/src
tag_of() { if [ "$1" = main ]; then echo latest; else echo "$1"; fi; }

if [ -n "${DOCKERHUB_USERNAME:-}" ]; then
  : "${DOCKERHUB_TOKEN:?}"
  set +x
  run docker login --username "$DOCKERHUB_USERNAME" --password-stdin <<<"$DOCKERHUB_TOKEN"
  dry || set -x
fi

pull() { # image: retried, rate limits and registry hiccups are common
  local try
  for try in 1 2 3 4 5; do
    run docker pull --quiet "$1" && return 0
    sleep $((try * 30))
  done
  echo "cannot pull $1"; return 1
}

images=("$PROXY_IMAGE")
for b in $BRANCHES; do
  tag="$(tag_of "$b")"
  dir="$src/DSpace"
  if git -C "$dir" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null 2>&1; then
    run git -C "$dir" checkout -q -f "refs/remotes/origin/$b"
    # The images the branch's own compose files name, for DSPACE_VER=<tag>: exactly what a
    # preview of that branch starts (with and without the entities database).
    for extra in "" "dspace/src/main/docker-compose/db.entities.yml"; do
      mapfile -t -O "${#images[@]}" images < <(COMPOSE_PROJECT_NAME=warm DSPACE_VER="$tag" \
        docker compose --project-directory "$dir" -f "$dir/docker-compose.yml" ${extra:+-f "$dir/$extra"} \
        config --images)
    done
    images+=("docker.io/dspace/dspace-dependencies:$tag"
             "docker.io/eclipse-temurin:$(arg_default "$dir/Dockerfile" JDK_VERSION)")
    # The Solr image's base (solr:<version>, usually through ARG SOLR_VERSION), which
    # warm-caches.sh builds the branch's dspace-solr on.
    solr="$dir/dspace/src/main/docker/dspace-solr/Dockerfile"
    if [ -f "$solr" ]; then mapfile -t -O "${#images[@]}" images < <(base_images "$solr"); fi
  else
    note "no clone of DSpace with $b (sources.sh ran dry): its images are not listed"
  fi
  if git -C "$src/dspace-angular" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null 2>&1; then
    images+=("docker.io/dspace/dspace-angular:$tag-dist")
    mapfile -t -O "${#images[@]}" images < <(git -C "$src/dspace-angular" show "refs/remotes/origin/$b:Dockerfile.dist" |
      base_images)
  else
    note "no clone of dspace-angular with $b (sources.sh ran dry): its images are not listed"
  fi
done
run git -C "$src/DSpace" checkout -q -f preview

mapfile -t images < <(printf '%s\n' "${images[@]}" | sort -u)
for image in "${images[@]}"; do pull "$image"; done
run docker image ls
