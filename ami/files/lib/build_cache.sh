# shellcheck shell=bash
# The build cache: a side built here is pushed to the private ECR repository BUILD_CACHE_REPO,
# tagged by the commits it was merged from; a later boot of the same commits pulls it instead
# of building. The launch step names images the same way (tasks/src/domain/build_cache.rs) and
# pins the base of a build it found (BACKEND_BASE_SHA, UI_BASE_SHA), so both ends agree on the
# tag. The cache only ever saves time: a failed login, pull or push means building as without.

# This boot's registry credentials, apart from root's ~/.docker. Only the docker CLI on the
# host reads them: containers and BuildKit steps see neither this file nor IMDS (hop limit 1).
CACHE_DOCKER_CONFIG="$PREVIEW_STATE_DIR/registry"
CACHE_JSON="$PREVIEW_STATE_DIR/build-cache.json"
CACHE_ON=0
# A pull that hangs (a stalled connection) is given up as a miss: building is the fallback.
PREVIEW_CACHE_PULL_TIMEOUT="${PREVIEW_CACHE_PULL_TIMEOUT:-900}"

# The one service a side's cached image stands for, and the name compose runs it under.
cache_service() { if [ "$1" = backend ]; then printf dspace; else printf dspace-angular; fi; }
cache_local_image() { if [ "$1" = backend ]; then printf '%s' "$BUILT_DSPACE_IMAGE"; else printf '%s' "$BUILT_UI_IMAGE"; fi; }

# <side>-<head40>-<base40>, exactly as the launch step writes it (MERGED_*: source.sh).
cache_tag() { printf '%s-%s-%s' "$1" "${MERGED_HEAD[$1]}" "${MERGED_BASE[$1]}"; }
cache_ref() { printf '%s:%s' "$BUILD_CACHE_REPO" "$(cache_tag "$1")"; }

# Log in once per boot. Off without a repository; a failed login costs the cache, not the boot.
cache_login() {
  CACHE_ON=0
  if [ -z "${BUILD_CACHE_REPO:-}" ]; then
    log "build cache off (no BUILD_CACHE_REPO)"
    return 0
  fi
  local registry="${BUILD_CACHE_REPO%%/*}"
  mkdir -p "$CACHE_DOCKER_CONFIG"; chmod 700 "$CACHE_DOCKER_CONFIG"
  # The password goes through the pipe only: never an argument, never in the log.
  log "+ aws ecr get-login-password --region $AWS_REGION | docker login --username AWS --password-stdin $registry"
  if aws ecr get-login-password --region "$AWS_REGION" |
      DOCKER_CONFIG="$CACHE_DOCKER_CONFIG" docker login --username AWS --password-stdin "$registry" >/dev/null; then
    CACHE_ON=1
    log "build cache on: $BUILD_CACHE_REPO"
  else
    log "WARNING: build cache login to $registry failed: building without the cache this boot"
  fi
}

# The launch step's tag is what it found in the registry; ours is what we merged. They differ
# only if the PR or base moved in between (or a bug): ours names what this boot really runs.
cache_note_tag() { # side
  local found ours
  found="$(side_var "$1" CACHE_TAG)"; ours="$(cache_tag "$1")"
  [ -z "$found" ] || log "launch step found $1 image $found in the build cache"
  if [ -n "$found" ] && [ "$found" != "$ours" ]; then
    log "WARNING: build cache tag of the launch step ($found) differs from this checkout's ($ours): using $ours"
  fi
}

# One side's outcome in build-cache.json ({"backend":"hit"|"miss"|"off",...}) for the health
# check. Both builds may record at once: the lock keeps one from losing the other's word.
cache_record() { # side hit|miss|off
  local tmp="$CACHE_JSON.tmp.$BASHPID" now='{}'
  {
    flock 9
    if [ -s "$CACHE_JSON" ]; then now="$(cat "$CACHE_JSON")"; fi
    jq -c --arg side "$1" --arg v "$2" '.[$side] = $v' <<<"$now" >"$tmp" && mv -f "$tmp" "$CACHE_JSON"
  } 9>>"$PREVIEW_STATE_DIR/build-cache.lock"
}

# Pull the side's image of these commits and name it as compose expects; 0 on a hit. Any
# failed pull (no such tag, or the registry not answering) is a miss: the side is built.
cache_restore() { # side
  local side="$1" ref
  if [ "$CACHE_ON" != 1 ]; then cache_record "$side" off; return 1; fi
  ref="$(cache_ref "$side")"
  log "+ docker pull $ref"
  if DOCKER_CONFIG="$CACHE_DOCKER_CONFIG" timeout "$PREVIEW_CACHE_PULL_TIMEOUT" docker pull --quiet "$ref" &&
     docker tag "$ref" "$(cache_local_image "$side")"; then
    log "build cache hit for $side: $ref"
    cache_record "$side" hit
    return 0
  fi
  log "build cache miss for $side: $ref"
  cache_record "$side" miss
  return 1
}

# After a build of a miss: push it for the next launch of these commits, in the background so
# the preview is not kept waiting. Its lines go straight to the boot log (not the boot's stdout,
# which cloud-init would keep open until the push ends). The repository is tag-immutable: a
# tag pushed meanwhile by another preview of the same commits makes this push fail, harmlessly.
cache_push_in_background() { # side
  [ "$CACHE_ON" = 1 ] || return 0
  local side="$1" ref
  ref="$(cache_ref "$side")"
  log "+ docker push $ref (in the background)"
  (
    trap - ERR; set +e
    if out="$(docker tag "$(cache_local_image "$side")" "$ref" 2>&1 &&
        DOCKER_CONFIG="$CACHE_DOCKER_CONFIG" docker push --quiet "$ref" 2>&1)"; then
      log "build cache: pushed $side as $ref"
    else
      log "WARNING: build cache push of $side failed (this preview is unaffected): $(last_line "$out")"
    fi
  ) </dev/null >>"$PREVIEW_LOG_DIR/boot.log" 2>&1 &
}
