# shellcheck shell=bash
# Public URLs, compose files and environment, image builds and the start of the stack.

PREVIEW_IMDS_URL="${PREVIEW_IMDS_URL:-http://169.254.169.254}"
# Images the AMI pre-pulled besides the DSpace ones (written by the Packer build).
PREVIEW_IMAGES_ENV="${PREVIEW_IMAGES_ENV:-$PREVIEW_HOME/etc/images.env}"
# Seconds to wait for the REST API after `up` (a cold backend takes 2-5 minutes).
PREVIEW_BACKEND_WAIT="${PREVIEW_BACKEND_WAIT:-900}"
# The containers of a running preview; the health check uses the same list.
PREVIEW_CONTAINERS="dspacedb dspacesolr dspace dspace-angular dspace-proxy"

# IMDSv2 only: a session token first, then the public hostname (public IPv4 as fallback
# for subnets without public DNS names).
resolve_public_host() {
  local token="" host="" try
  for try in 1 2 3 4 5; do
    token="$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \
      "$PREVIEW_IMDS_URL/latest/api/token")" && break
    log "IMDS token attempt $try failed"; sleep "$PREVIEW_POLL_SECONDS"
  done
  [ -n "$token" ] || fail boot-failed "no IMDSv2 token"
  local key
  for key in public-hostname public-ipv4; do
    host="$(curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
      "$PREVIEW_IMDS_URL/latest/meta-data/$key")" || host=""
    [ -n "$host" ] && break
  done
  [ -n "$host" ] || fail boot-failed "instance has no public hostname or address"
  PUBLIC_HOST="$host"
  write_atomic "$PREVIEW_STATE_DIR/public-host" "$PUBLIC_HOST"
  log "public URLs: UI http://$PUBLIC_HOST/ REST http://$PUBLIC_HOST/server"
}

# Compose interpolation variables, in a file so a person on the instance can repeat any
# call: docker compose --env-file /var/lib/dspace-preview/compose.env ...
write_compose_env() {
  local tag proxy_image
  tag="$(branch_tag "$BASE_BRANCH")"
  proxy_image="docker.io/library/nginx:stable-alpine"
  if [ -r "$PREVIEW_IMAGES_ENV" ]; then
    # shellcheck source=/dev/null
    . "$PREVIEW_IMAGES_ENV"
    proxy_image="${PROXY_IMAGE:-$proxy_image}"
  fi
  local dspace_image="docker.io/dspace/dspace:$tag" solr_image="docker.io/dspace/dspace-solr:$tag"
  local ui_image="docker.io/dspace/dspace-angular:$tag-dist"
  if side_built backend; then
    dspace_image="dspace-preview/dspace:local"; solr_image="dspace-preview/dspace-solr:local"
  fi
  side_built ui && ui_image="dspace-preview/dspace-angular:local"
  cat >"$PREVIEW_STATE_DIR/compose.env" <<EOF
COMPOSE_PROJECT_NAME=$COMPOSE_PROJECT
DSPACE_VER=$tag
PREVIEW_HOME=$PREVIEW_HOME
PREVIEW_ID=$PREVIEW_ID
PREVIEW_DSPACE_IMAGE=$dspace_image
PREVIEW_SOLR_IMAGE=$solr_image
PREVIEW_UI_IMAGE=$ui_image
PREVIEW_PROXY_IMAGE=$proxy_image
PREVIEW_UI_SRC=$UI_SRC
PREVIEW_PUBLIC_HOST=$PUBLIC_HOST
PREVIEW_UI_URL=http://$PUBLIC_HOST
PREVIEW_SERVER_URL=http://$PUBLIC_HOST/server
EOF
}

# ENV_OVERRIDES (KEY=VALUE lines, keys whitelisted by the launch step) become a compose
# file listed last: `environment` there beats every earlier file, which env_file would not.
write_env_overrides() {
  local out="$PREVIEW_STATE_DIR/overrides.yml" line key value
  printf 'services:\n  dspace:\n    environment:\n' >"$out"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    key="${line%%=*}"; value="${line#*=}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail config "bad ENV_OVERRIDES key '$key'"
    value="${value//\'/\'\'}"   # YAML single quotes
    value="${value//\$/\$\$}"   # no compose interpolation
    printf "      %s: '%s'\n" "$key" "$value" >>"$out"
  done <<<"${ENV_OVERRIDES:-}"
}

# The compose files, in order: the base branch's own (and its entities database), ours, the
# build sections for built sides, the overrides. The base branch's files come from
# extract_base_compose (source.sh), never from the PR's tree.
compose_files() {
  COMPOSE_FILES=("$BASE_COMPOSE_DIR/docker-compose.yml")
  [ "$SAMPLE_CONTENT" = entities ] && COMPOSE_FILES+=("$BASE_COMPOSE_DIR/db.entities.yml")
  COMPOSE_FILES+=("$PREVIEW_HOME/compose/preview.yml")
  side_built backend && COMPOSE_FILES+=("$PREVIEW_HOME/compose/build-backend.yml")
  side_built ui && COMPOSE_FILES+=("$PREVIEW_HOME/compose/build-ui.yml")
  COMPOSE_FILES+=("$PREVIEW_STATE_DIR/overrides.yml")
  local f
  for f in "${COMPOSE_FILES[@]}"; do
    [ -r "$f" ] || fail boot-failed "compose file $f is missing"
  done
}

# Render the whole model as Compose will run it and refuse anything outside the allowlist
# (lib/compose_policy.sh) before a single container starts.
check_compose_model() {
  local violations
  dc_args
  log "+ docker ${DC_ARGS[*]} config --format json (checked against the policy)"
  if ! violations="$(compose_policy_check "$PREVIEW_STATE_DIR" docker "${DC_ARGS[@]}")"; then
    log "the compose model breaks the policy:"
    printf '%s\n' "$violations"
    fail compose-refused "$(printf '%s' "$violations" | head -n 3 | paste -sd ';' -)"
  fi
  log "compose model checked: $(jq -r '.services | keys | join(" ")' "$PREVIEW_STATE_DIR/compose-model.json")"
}

dc_args() {
  DC_ARGS=(compose --project-name "$COMPOSE_PROJECT" --project-directory "$BACKEND_SRC"
    --env-file "$PREVIEW_STATE_DIR/compose.env")
  local f
  for f in "${COMPOSE_FILES[@]}"; do DC_ARGS+=(-f "$f"); done
}

# docker compose with this preview's project, files and environment, logged.
dc() { dc_args; run docker "${DC_ARGS[@]}" "$@"; }
# The same, not logged: for commands that carry a secret.
dc_quiet() { dc_args; docker "${DC_ARGS[@]}" "$@"; }

# A hung build (a stuck download, a test that never ends) must not hold the preview forever.
PREVIEW_BUILD_TIMEOUT="${PREVIEW_BUILD_TIMEOUT:-3600}"

# Builds run in the background while the foreground pulls, starts the database and, for a
# UI-only preview, the whole backend with its content. Each writes its exit status to
# build-<side>.rc when done; its output goes to the boot log, each line marked with the side.
declare -A BUILD_PID=()
start_build() { # side service...
  local side="$1"; shift
  rm -f "$PREVIEW_STATE_DIR/build-$side.rc"
  dc_args
  log "+ docker compose build $* (in the background)"
  (
    trap - ERR; set +e
    timeline_start "building-$side"
    # Plain progress: the whole build output goes to the boot log (and CloudWatch).
    BUILDKIT_PROGRESS=plain timeout "$PREVIEW_BUILD_TIMEOUT" docker "${DC_ARGS[@]}" build "$@" 2>&1 |
      sed -u "s/^/[build $side] /"
    rc="${PIPESTATUS[0]}"
    [ "$rc" -ne 0 ] || timeline_end "building-$side"
    echo "$rc" >"$PREVIEW_STATE_DIR/build-$side.rc"
  ) &
  BUILD_PID[$side]=$!
}

# Fail as soon as a background build has failed (checked between foreground steps).
check_builds() {
  local side rc
  for side in "${!BUILD_PID[@]}"; do
    rc="$(cat "$PREVIEW_STATE_DIR/build-$side.rc" 2>/dev/null)" || continue
    # shellcheck disable=SC2034 # CURRENT_PHASE is read by fail() (common.sh)
    case "$rc" in
      0) ;;
      124) CURRENT_PHASE="building-$side"
           fail timeout "$side image build did not finish within ${PREVIEW_BUILD_TIMEOUT}s" ;;
      *) CURRENT_PHASE="building-$side"
         fail build-failed "$side image build failed (log stream $PREVIEW_ID/boot)" ;;
    esac
  done
}

wait_for_build() { # side
  [ -n "${BUILD_PID[$1]:-}" ] || return 0
  wait "${BUILD_PID[$1]}" || true
  check_builds
  log "$1 image built"
}

# Two builds at once only where cores and memory allow: on 2 vCPUs and 8 GB, Maven and the
# Angular build side by side would swap and take longer than one after the other.
parallel_builds() {
  local cores mem_kb
  cores="$(nproc 2>/dev/null || echo 2)"
  mem_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)"
  [ "${PREVIEW_PARALLEL_BUILDS:-auto}" = 1 ] ||
    { [ "${PREVIEW_PARALLEL_BUILDS:-auto}" = auto ] && [ "$cores" -ge 4 ] && [ "${mem_kb:-0}" -ge 15000000 ]; }
}

# The published images of the sides not built (and the database), pulled while the other side
# builds, so the preview runs today's images of the base branch rather than the AMI's. A
# failed pull is not fatal: the AMI's copy of the same tag is still there. Then the database
# starts: it loads the entities dump while the backend still builds.
PULL_PID=""
pull_published_in_background() {
  local services=(dspacedb)
  side_built backend || services+=(dspace dspacesolr)
  side_built ui || services+=(dspace-angular)
  dc_args
  log "+ docker compose pull ${services[*]}, then up dspacedb (in the background)"
  (
    trap - ERR; set +e
    timeline_start pulling
    docker "${DC_ARGS[@]}" pull --quiet "${services[@]}" >"$PREVIEW_LOG_DIR/pull.log" 2>&1
    rc=$?
    timeline_end pulling
    docker "${DC_ARGS[@]}" up -d --no-build --quiet-pull dspacedb >>"$PREVIEW_LOG_DIR/pull.log" 2>&1
    exit "$rc"
  ) &
  PULL_PID=$!
}

wait_for_pull() {
  [ -n "$PULL_PID" ] || return 0
  if wait "$PULL_PID"; then
    log "published images pulled"
  else
    log "WARNING: pulling the published images failed; using the AMI's copies ($(tail -n 1 "$PREVIEW_LOG_DIR/pull.log" 2>/dev/null))"
  fi
  PULL_PID=""
}

# The backend (and a published UI): port 80 opens only once no account with a public
# password is left (disable_demo_accounts) and the admin exists; a built UI once it is built.
start_stack() {
  local services=(dspacedb dspacesolr dspace)
  side_built ui || services+=(dspace-angular)
  # --no-build: the built images exist by now; anything else comes from the pull or the AMI.
  dc up -d --no-build --quiet-pull "${services[@]}" || fail boot-failed "docker compose up failed"
}

open_proxy() {
  local services=(dspace-proxy)
  side_built ui && services=(dspace-angular dspace-proxy)
  dc up -d --no-build --quiet-pull "${services[@]}" || fail boot-failed "docker compose up ${services[*]} failed"
  local try
  for try in 1 2 3 4 5 6 7 8 9 10 11 12; do
    if curl -fsS --max-time 5 -H "Host: $PUBLIC_HOST" -o /dev/null "http://127.0.0.1/server/api"; then
      log "proxy answers on port 80"
      return 0
    fi
    log "proxy not answering yet (attempt $try)"
    sleep "$PREVIEW_POLL_SECONDS"
  done
  fail boot-failed "the proxy on port 80 does not reach the REST API"
}

# The entities dump ships dspacedemo+admin, +submit, +edit, +acceptreject and +acceptrejectedit,
# all with the public password "dspace". One statement bars them all; the count after it
# proves it, and a preview that cannot prove it fails instead of going public.
DEMO_ACCOUNTS="email LIKE 'dspacedemo+%'"
disable_demo_accounts() {
  local left
  dc exec -T dspacedb psql -U dspace -d dspace -v ON_ERROR_STOP=1 -q \
    -c "UPDATE eperson SET can_log_in = false WHERE $DEMO_ACCOUNTS" ||
    fail demo-accounts "could not disable the dspacedemo+* accounts"
  left="$(dc_quiet exec -T dspacedb psql -U dspace -d dspace -At \
    -c "SELECT count(*) FROM eperson WHERE $DEMO_ACCOUNTS AND can_log_in IS NOT FALSE")" ||
    fail demo-accounts "could not check the dspacedemo+* accounts"
  [ "$left" = 0 ] || fail demo-accounts "$left dspacedemo+* account(s) can still log in"
  log "dspacedemo+* accounts cannot log in"
}

# The commit a side's checkout was merged to; none for a side that is not built. (No failing
# command here: under `set -E` a failure inside $(...) would fire the boot's ERR trap.)
side_commit() { # side
  local f="$PREVIEW_STATE_DIR/$1.commit"
  if [ -r "$f" ]; then cat "$f"; fi
}

# Which image each side runs, for the health JSON and the preview page: the image name, its
# registry digest (published images) or "built" with the merged commit, and its creation date.
record_images() {
  local out="$PREVIEW_STATE_DIR/images.json" entries=() side container image meta
  for side in backend ui; do
    container=dspace; [ "$side" = ui ] && container=dspace-angular
    image="$(docker inspect -f '{{.Config.Image}}' "$container" 2>/dev/null)" || image=""
    meta="$(docker image inspect -f '{{if .RepoDigests}}{{index .RepoDigests 0}}{{end}} {{.Created}}' "$image" 2>/dev/null)" || meta=""
    entries+=("$(jq -cn --arg side "$side" --arg image "$image" --arg digest "${meta%% *}" \
      --arg created "${meta#* }" --arg commit "$(side_commit "$side")" \
      --argjson built "$(side_built "$side" && echo true || echo false)" \
      '{($side): {image: $image, built: $built, digest: $digest, created: $created, commit: $commit}}')")
  done
  printf '%s\n' "${entries[@]}" | jq -cs 'add' >"$out"
  log "images: $(cat "$out")"
}

# A container that stopped is a crash: no service here is meant to exit.
check_containers() {
  local name state
  for name in $PREVIEW_CONTAINERS; do
    state="$(docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$name" 2>/dev/null)" || continue
    case "$state" in
      exited*|dead*) fail container-exited "$name ${state%% *} with code ${state##* } (log stream $PREVIEW_ID/$name)" ;;
    esac
  done
}

# Wait until the REST API answers on the dspace container itself (the proxy is not up yet).
wait_for_backend() {
  local deadline=$((SECONDS + PREVIEW_BACKEND_WAIT)) ip
  while :; do
    check_containers
    ip="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' dspace 2>/dev/null)" || ip=""
    ip="${ip%% *}"
    if [ -n "$ip" ] && curl -fsS --max-time 5 -o /dev/null "http://$ip:8080/server/api"; then
      log "REST API answers"
      return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail timeout "REST API did not answer within ${PREVIEW_BACKEND_WAIT}s"
    sleep "$PREVIEW_POLL_SECONDS"
  done
}
