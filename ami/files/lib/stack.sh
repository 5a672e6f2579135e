# shellcheck shell=bash
# Public URLs, compose files and environment, image builds and the start of the stack.

PREVIEW_IMDS_URL="${PREVIEW_IMDS_URL:-http://169.254.169.254}"
# Images the AMI pre-pulled besides the DSpace ones (written by the Packer build).
PREVIEW_IMAGES_ENV="${PREVIEW_IMAGES_ENV:-$PREVIEW_HOME/etc/images.env}"
# Seconds to wait for the REST API after `up` (a cold backend takes 2-5 minutes).
PREVIEW_BACKEND_WAIT="${PREVIEW_BACKEND_WAIT:-900}"
# The containers of a running preview; the health check uses the same list.
PREVIEW_CONTAINERS="dspacedb dspacesolr dspace dspace-angular dspace-proxy"
# The names of the images built here (compose.env hands them to preview.yml's image: lines).
BUILT_DSPACE_IMAGE=dspace-preview/dspace:local
BUILT_SOLR_IMAGE=dspace-preview/dspace-solr:local
BUILT_UI_IMAGE=dspace-preview/dspace-angular:local

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

# A new instance's root volume is restored from its snapshot lazily: the first read of each
# block waits for it (1-4 min over a boot). Reading ahead what this boot will read anyway (the
# clones, the layers of the base branch's images: the build's bases, the published side, the
# warm npm layers) while the boot waits on IMDS and git fetches takes some of those waits off
# the build's path. Background, lowest CPU and I/O priority; nothing waits for it, and a
# failure costs only the head start.
PREVIEW_DOCKER_ROOT="${PREVIEW_DOCKER_ROOT:-$PREVIEW_FS_ROOT/var/lib/docker}"
read_ahead_in_background() {
  local tag idle=(nice -n 19)
  tag="$(branch_tag "$BASE_BRANCH")"
  if command -v ionice >/dev/null; then idle=(ionice -c3 nice -n 19); fi
  log "+ reading ahead the clones and the :$tag images' layers (in the background, idle priority)"
  (
    trap - ERR; set +e
    dirs=()
    for d in "$BACKEND_SRC" "$UI_SRC" $(image_layer_dirs "$tag"); do
      if [ -d "$d" ]; then dirs+=("$d"); fi
    done
    "${idle[@]}" find "${dirs[@]}" -xdev -type f -print0 2>/dev/null | "${idle[@]}" xargs -0 -r cat >/dev/null 2>&1
    log "read-ahead done (${#dirs[@]} directories)"
  ) </dev/null >>"$PREVIEW_LOG_DIR/boot.log" 2>&1 &
}

# The overlay2 directories of the AMI's images tagged TAG (or TAG-dist), one per line.
image_layer_dirs() { # tag
  local image
  docker image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -E ":$1(-dist)?\$" |
    while read -r image; do
      docker image inspect -f '{{.GraphDriver.Data.UpperDir}}:{{.GraphDriver.Data.LowerDir}}' "$image" 2>/dev/null
    done | tr ':' '\n' | sed '/^$/d' | sort -u
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
  side_built backend && dspace_image="$BUILT_DSPACE_IMAGE"
  solr_built && solr_image="$BUILT_SOLR_IMAGE"
  side_built ui && ui_image="$BUILT_UI_IMAGE"
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
PREVIEW_UI_URL=$PUBLIC_URL
PREVIEW_SERVER_URL=$PUBLIC_URL/server
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
  # HTTPS mode (lib/https.sh): nginx behind Caddy on loopback, the UI's REST URL https.
  if https_mode; then COMPOSE_FILES+=("$PREVIEW_HOME/compose/https.yml"); fi
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

# dspace-solr holds only Solr's configuration (dspace/solr/): a backend PR that leaves it (and
# its Dockerfile) alone runs the published image of the base, pulled like a side that is not
# built, and saves a build.
SOLR_BUILT=0
decide_solr_build() {
  SOLR_BUILT=0
  side_built backend || return 0
  if solr_changed; then
    SOLR_BUILT=1
    log "the backend changes ${SOLR_PATHS[*]}: dspace-solr is built too"
  else
    log "${SOLR_PATHS[*]} unchanged: dspace-solr runs the published image of $BASE_BRANCH"
  fi
}
solr_built() { [ "$SOLR_BUILT" = 1 ]; }

# A hung build (a stuck download, a test that never ends) must not hold the preview forever.
PREVIEW_BUILD_TIMEOUT="${PREVIEW_BUILD_TIMEOUT:-3600}"

# Builds run in the background while the foreground pulls, starts the database and, for a
# UI-only preview, the whole backend with its content. Each writes its exit status to
# build-<side>.rc when done; its output goes to the boot log, each line marked with the side.
# A build-cache hit (build_cache.sh) replaces the build of the side's main image with a pull:
# the phase building-<side> stays, as long as the pull.
declare -A BUILD_PID=()
start_build() { # side service...
  local side="$1"; shift
  rm -f "$PREVIEW_STATE_DIR/build-$side.rc"
  dc_args
  cache_note_tag "$side"
  (
    trap - ERR; set +e
    CURRENT_PHASE="building-$side"
    timeline_start "building-$side"
    services=("$@") hit=0 rc=0
    if cache_restore "$side"; then
      hit=1
      services=()
      for s in "$@"; do [ "$s" = "$(cache_service "$side")" ] || services+=("$s"); done
    fi
    if [ "${#services[@]}" -gt 0 ]; then
      log "+ docker compose build ${services[*]}"
      # Plain progress: the whole build output goes to the boot log (and CloudWatch).
      BUILDKIT_PROGRESS=plain timeout "$PREVIEW_BUILD_TIMEOUT" docker "${DC_ARGS[@]}" build "${services[@]}" 2>&1 |
        sed -u "s/^/[build $side] /"
      rc="${PIPESTATUS[0]}"
    fi
    [ "$rc" -ne 0 ] || timeline_end "building-$side"
    # Atomically: check_builds may read it at any moment.
    write_atomic "$PREVIEW_STATE_DIR/build-$side.rc" "$rc"
    if [ "$rc" -eq 0 ] && [ "$hit" = 0 ]; then cache_push_in_background "$side"; fi
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
  log "$1 image ready"
}

# Two builds at once only where cores and memory allow: on 2 vCPUs and 8 GB, Maven and the
# Angular build side by side would swap and take longer than one after the other.
# PREVIEW_PARALLEL_BUILDS=1/0 forces the answer (the bench, the tests).
parallel_builds() { roomy_instance "${PREVIEW_PARALLEL_BUILDS:-auto}"; }

# roomy_instance auto|1|0: >= 4 vCPUs and >= 15 GB (m7i.xlarge, the default), or forced.
roomy_instance() {
  local cores mem_kb
  [ "$1" = 1 ] && return 0
  [ "$1" = auto ] || return 1
  cores="$(nproc 2>/dev/null || echo 2)"
  mem_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)"
  [ "$cores" -ge 4 ] && [ "${mem_kb:-0}" -ge 15000000 ]
}

# Admin and content while the webapp starts (content.sh, start_cli_in_background): a second
# JVM (1 GB heap) next to the webapp's (2 GB), Solr, PostgreSQL and maybe a UI build. Only
# on a roomy instance (PREVIEW_PARALLEL_CLI=1/0 forces it), and only if the dspace service
# migrates the database the way DSpace's compose files do, which the boot then does first in
# a one-off container: MIGRATE_ARGS, the words after `/dspace/bin/dspace` on that line of
# the checked model's entrypoint (`database migrate`, or `database migrate ignored` with the
# entities dump). Anything else: the sequential order, admin and content once REST answers.
MIGRATE_ARGS=()
OVERLAP_CLI=0
decide_cli_overlap() {
  local line
  OVERLAP_CLI=0 MIGRATE_ARGS=()
  if ! roomy_instance "${PREVIEW_PARALLEL_CLI:-auto}"; then
    log "admin and content after the REST API answers (a small instance: one JVM at a time)"
    return 0
  fi
  line="$(jq -r '.services.dspace | (.entrypoint // []), (.command // []) | if type == "array" then .[] else . end' \
    "$PREVIEW_STATE_DIR/compose-model.json" 2>/dev/null |
    grep -oE '^[[:space:]]*/dspace/bin/dspace database migrate( [a-z]+)?[[:space:]]*$' | head -n 1)" || line=""
  if [ -z "$line" ]; then
    log "the dspace service has no '/dspace/bin/dspace database migrate' line: admin and content after the REST API answers"
    return 0
  fi
  read -r -a MIGRATE_ARGS <<<"${line#*/dspace/bin/dspace }"
  OVERLAP_CLI=1
  log "admin and content in one-off dspace containers while the webapp starts, after '${MIGRATE_ARGS[*]}'"
}
overlap_cli() { [ "$OVERLAP_CLI" = 1 ]; }

# The published images of the sides not built (and the database), pulled while the other side
# builds, so the preview runs today's images of the base branch rather than the AMI's. A
# failed pull is not fatal: the AMI's copy of the same tag is still there. Then the database
# starts: it loads the entities dump while the backend still builds.
PULL_PID=""
pull_published_in_background() {
  local services=(dspacedb)
  side_built backend || services+=(dspace)
  solr_built || services+=(dspacesolr)
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

# The database and Solr first, for the migration and the one-off CLI containers (the
# database is usually up already: pull_published_in_background started it).
start_backing_services() {
  dc up -d --no-build --quiet-pull dspacedb dspacesolr || fail boot-failed "docker compose up dspacedb dspacesolr failed"
}

# PostgreSQL accepting TCP connections: what DSpace's entrypoint waits for (dspacedb:5432).
# While the image's init scripts run (the entities dump loading) the server listens on its
# Unix socket only, so this also waits for the dump.
wait_for_database() {
  local deadline=$((SECONDS + PREVIEW_BACKEND_WAIT))
  until dc_quiet exec -T dspacedb pg_isready -q -h 127.0.0.1 -U dspace -d dspace </dev/null >/dev/null 2>&1; do
    check_containers
    [ "$SECONDS" -lt "$deadline" ] || fail timeout "PostgreSQL did not accept connections within ${PREVIEW_BACKEND_WAIT}s"
    sleep "$PREVIEW_POLL_SECONDS"
  done
  log "PostgreSQL accepts connections"
}

# The schema migration the webapp's entrypoint would run, once, before the webapp and the CLI
# containers start: in a one-off container of the same image, so the CLI never meets an old
# schema. The webapp's own migrate then finds nothing to do.
migrate_database() {
  dc run --rm --no-deps -T -e "JAVA_OPTS=$CLI_JAVA_OPTS" --entrypoint /dspace/bin/dspace dspace "${MIGRATE_ARGS[@]}" </dev/null ||
    fail boot-failed "dspace ${MIGRATE_ARGS[*]} failed"
  log "database migrated"
}

open_proxy() {
  local services=(dspace-proxy)
  side_built ui && services=(dspace-angular dspace-proxy)
  dc up -d --no-build --quiet-pull "${services[@]}" || fail boot-failed "docker compose up ${services[*]} failed"
  # HTTPS mode: nginx answers on loopback (compose/https.yml) and Caddy, in front of it,
  # opens 80 and 443 once nginx reaches the REST API.
  local try proxy=127.0.0.1 where="port 80"
  if https_mode; then proxy="$PREVIEW_INNER_PROXY" where="$PREVIEW_INNER_PROXY (behind Caddy)"; fi
  for try in 1 2 3 4 5 6 7 8 9 10 11 12; do
    if curl -fsS --max-time 5 -H "Host: $PUBLIC_HOST" -o /dev/null "http://$proxy/server/api"; then
      log "proxy answers on $where"
      if https_mode; then start_tls_proxy; fi
      return 0
    fi
    log "proxy not answering yet (attempt $try)"
    sleep "$PREVIEW_POLL_SECONDS"
  done
  fail boot-failed "the proxy on $where does not reach the REST API"
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
    check_cli_job
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
