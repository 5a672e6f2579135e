#!/bin/bash
# Pre-pull, per branch, the published images a preview runs or builds on: dspace, dspace-solr,
# the database (postgres or pgcrypto, and the entities loadsql image), dspace-angular -dist,
# dspace-dependencies (the Maven repository the backend build starts from) and the base
# images of both Dockerfiles. Docker Hub limits anonymous pulls: log in when given an account.
set -euxo pipefail
: "${BRANCHES:?}" "${PROXY_IMAGE:?}"

src=/opt/dspace-preview/src
tag_of() { if [ "$1" = main ]; then echo latest; else echo "$1"; fi; }

if [ -n "${DOCKERHUB_USERNAME:-}" ]; then
  set +x
  printf '%s' "${DOCKERHUB_TOKEN:?}" | docker login --username "$DOCKERHUB_USERNAME" --password-stdin
  set -x
fi

pull() { # image: retried, rate limits and registry hiccups are common
  local try
  for try in 1 2 3 4 5; do
    docker pull --quiet "$1" && return 0
    sleep $((try * 30))
  done
  echo "cannot pull $1"; return 1
}

# The value of `ARG NAME=value` in a Dockerfile.
arg_default() { sed -n "s/^ARG $2=//p" "$1" | head -n 1; }

images=("$PROXY_IMAGE")
for b in $BRANCHES; do
  tag="$(tag_of "$b")"
  dir="$src/DSpace"
  if git -C "$dir" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null; then
    git -C "$dir" checkout -q -f "refs/remotes/origin/$b"
    # The images the branch's own compose files name, for DSPACE_VER=<tag>: exactly what a
    # preview of that branch starts (with and without the entities database).
    for extra in "" "dspace/src/main/docker-compose/db.entities.yml"; do
      mapfile -t -O "${#images[@]}" images < <(COMPOSE_PROJECT_NAME=warm DSPACE_VER="$tag" \
        docker compose --project-directory "$dir" -f "$dir/docker-compose.yml" ${extra:+-f "$dir/$extra"} \
        config --images)
    done
    images+=("docker.io/dspace/dspace-dependencies:$tag"
             "docker.io/eclipse-temurin:$(arg_default "$dir/Dockerfile" JDK_VERSION)")
  fi
  if git -C "$src/dspace-angular" rev-parse -q --verify "refs/remotes/origin/$b" >/dev/null; then
    images+=("docker.io/dspace/dspace-angular:$tag-dist")
    mapfile -t -O "${#images[@]}" images < <(git -C "$src/dspace-angular" show "refs/remotes/origin/$b:Dockerfile.dist" |
      sed -n 's/^FROM \([^ ]*\).*/\1/p')
  fi
done
git -C "$src/DSpace" checkout -q -f preview

mapfile -t images < <(printf '%s\n' "${images[@]}" | sort -u)
for image in "${images[@]}"; do pull "$image"; done
docker image ls
