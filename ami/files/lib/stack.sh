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

# The compose files, in order: upstream base (and the entities database), ours, the build
# sections for built sides, the overrides.
compose_files() {
  COMPOSE_FILES=("$BACKEND_SRC/docker-compose.yml")
  [ "$SAMPLE_CONTENT" = entities ] &&
    COMPOSE_FILES+=("$BACKEND_SRC/dspace/src/main/docker-compose/db.entities.yml")
  COMPOSE_FILES+=("$PREVIEW_HOME/compose/preview.yml")
  side_built backend && COMPOSE_FILES+=("$PREVIEW_HOME/compose/build-backend.yml")
  side_built ui && COMPOSE_FILES+=("$PREVIEW_HOME/compose/build-ui.yml")
  COMPOSE_FILES+=("$PREVIEW_STATE_DIR/overrides.yml")
  local f
  for f in "${COMPOSE_FILES[@]}"; do
    [ -r "$f" ] || fail boot-failed "compose file $f is missing"
  done
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

build_side() { # side service...
  local side="$1" rc=0; shift
  # Plain progress: the whole build output goes to the boot log (and CloudWatch).
  export BUILDKIT_PROGRESS=plain
  dc_args
  run timeout "$PREVIEW_BUILD_TIMEOUT" docker "${DC_ARGS[@]}" build "$@" || rc=$?
  case "$rc" in
    0) ;;
    124) fail timeout "$side image build did not finish within ${PREVIEW_BUILD_TIMEOUT}s" ;;
    *) fail build-failed "$side image build failed (log stream $PREVIEW_ID/boot)" ;;
  esac
}

start_stack() {
  # --no-build: the built images exist by now; anything else comes from the AMI (or a pull).
  dc up -d --no-build --quiet-pull || fail boot-failed "docker compose up failed"
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

# Wait until the REST API answers through the proxy, as a visitor would reach it.
wait_for_backend() {
  local deadline=$((SECONDS + PREVIEW_BACKEND_WAIT))
  while :; do
    check_containers
    if curl -fsS --max-time 5 -H "Host: $PUBLIC_HOST" -o /dev/null "http://127.0.0.1/server/api"; then
      log "REST API answers"
      return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail timeout "REST API did not answer within ${PREVIEW_BACKEND_WAIT}s"
    sleep "$PREVIEW_POLL_SECONDS"
  done
}
