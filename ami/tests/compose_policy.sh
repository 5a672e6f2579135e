# shellcheck shell=bash
# Assertions are single-quoted on purpose (expanded by eval in check); variables are shared
# between the sourced test files.
# shellcheck disable=SC2016,SC2034
# The compose policy (files/lib/compose_policy.sh, files/compose/policy.jq) against the
# model a boot renders: DSpace's compose files of each supported base branch (fixtures in
# the same shape, tests/fixtures/compose/<branch>/), our real preview.yml and build files,
# an overrides file and a compose.env as stack.sh writes them, rendered by a real Compose v2
# (`config` needs no daemon). Then hostile variants, each of which must be refused with a
# line that names the problem.

# shellcheck source=../files/lib/compose_policy.sh
. "$AMI/files/lib/compose_policy.sh"

# The Compose v2 binary that renders: $PREVIEW_COMPOSE_BIN, the repository's .tools, or a
# docker-compose on PATH that is v2.
compose_policy_renderer() {
  if [ -n "${PREVIEW_COMPOSE_BIN:-}" ]; then
    printf '%s\n' "$PREVIEW_COMPOSE_BIN"
  elif [ -x "$AMI/../.tools/bin/docker-compose" ]; then
    printf '%s\n' "$AMI/../.tools/bin/docker-compose"
  elif command -v docker-compose >/dev/null &&
    docker-compose version 2>/dev/null | grep -Eq 'version v?2\.'; then
    printf '%s\n' docker-compose
  else
    return 1
  fi
}

CP_HOST="ec2-203-0-113-7.compute-1.amazonaws.com"

# cp_compose_env FILE BRANCH BUILT: what write_compose_env writes (BUILT: backend|ui|both).
cp_compose_env() {
  local tag="$2" dspace_image solr_image ui_image
  [ "$2" = main ] && tag=latest
  dspace_image="docker.io/dspace/dspace:$tag"; solr_image="docker.io/dspace/dspace-solr:$tag"
  ui_image="docker.io/dspace/dspace-angular:$tag-dist"
  case "$3" in backend | both)
    dspace_image="dspace-preview/dspace:local"; solr_image="dspace-preview/dspace-solr:local" ;;
  esac
  case "$3" in ui | both) ui_image="dspace-preview/dspace-angular:local" ;; esac
  cat >"$1" <<EOF
COMPOSE_PROJECT_NAME=preview
DSPACE_VER=$tag
PREVIEW_HOME=$AMI/files
PREVIEW_ID=pr-backend-1234
PREVIEW_DSPACE_IMAGE=$dspace_image
PREVIEW_SOLR_IMAGE=$solr_image
PREVIEW_UI_IMAGE=$ui_image
PREVIEW_PROXY_IMAGE=docker.io/library/nginx:stable-alpine
PREVIEW_UI_SRC=$CP/src/dspace-angular
PREVIEW_PUBLIC_HOST=$CP_HOST
PREVIEW_UI_URL=http://$CP_HOST
PREVIEW_SERVER_URL=http://$CP_HOST/server
EOF
}

# cp_model NAME BRANCH ENTITIES(yes|no) BUILT [EARLY.yml] [LATE.yml]: renders the files in
# the boot's order (EARLY right after DSpace's, LATE after the overrides) into
# $CP/out/NAME and checks the model; the violations are in $CP/out/NAME/violations.
cp_model() {
  local name="$1" branch="$2" entities="$3" built="$4" early="${5:-}" late="${6:-}"
  local fx="$AMI/tests/fixtures/compose/$branch" c="$AMI/files/compose" dir="$CP/out/$1"
  local backend="${CP_BACKEND:-$CP/src/DSpace}"
  mkdir -p "$dir"
  cp_compose_env "$dir/compose.env" "$branch" "$built"
  local files=(-f "$fx/docker-compose.yml")
  [ "$entities" = yes ] && files+=(-f "$fx/db.entities.yml")
  [ -z "$early" ] || files+=(-f "$early")
  files+=(-f "$c/preview.yml")
  case "$built" in backend | both) files+=(-f "$c/build-backend.yml") ;; esac
  case "$built" in ui | both) files+=(-f "$c/build-ui.yml") ;; esac
  files+=(-f "$CP/overrides.yml")
  [ -z "$late" ] || files+=(-f "$late")
  # A clean environment: Compose interpolates from it before the env file.
  PREVIEW_HOME="$AMI/files" BACKEND_SRC="$backend" UI_SRC="$CP/src/dspace-angular" \
    compose_policy_check "$dir" env -i PATH="$PATH" HOME="$CP" "$CP_BIN" \
    --project-name preview --project-directory "$backend" --env-file "$dir/compose.env" \
    "${files[@]}" >"$dir/violations"
  echo "$?" >"$dir/rc"
}

# cp_bg ARGS...: cp_model in the background (the renders are what takes time), at most
# 6 at once (each render is a ~50 MB process); cp_wait waits for all of them. The checks
# then read $CP/out/NAME.
cp_bg() {
  if [ "${#CP_PIDS[@]}" -ge 6 ]; then wait "${CP_PIDS[0]}"; CP_PIDS=("${CP_PIDS[@]:1}"); fi
  cp_model "$@" &
  CP_PIDS+=("$!")
}
cp_wait() { local pid; for pid in "${CP_PIDS[@]}"; do wait "$pid"; done; CP_PIDS=(); }

# cp_allowed NAME: the model passed the policy.
cp_allowed() { [ "$(cat "$CP/out/$1/rc")" = 0 ] || { cat "$CP/out/$1/violations"; return 1; }; }

# The model publishes exactly one port, the proxy's 80, and sets dspace.server.url.
cp_model_sane() {
  jq -e --arg url "http://$CP_HOST/server" '
    ([.services[] | (.ports // [])[] | "\(.published):\(.target)"] == ["80:80"]) and
    ([.services | to_entries[] | select((.value.ports // []) != []) | .key] == ["dspace-proxy"]) and
    (.services.dspace.environment.dspace__P__server__P__url == $url) and
    ((.services | keys) == ["dspace", "dspace-angular", "dspace-proxy", "dspacedb", "dspacesolr"])
  ' "$CP/out/$1/compose-model.json" >/dev/null
}

# cp_refused NAME REGEX: the model was refused, with a line matching REGEX.
cp_refused() {
  [ "$(cat "$CP/out/$1/rc")" != 0 ] || { echo "accepted"; return 1; }
  grep -Eq -- "$2" "$CP/out/$1/violations" || { cat "$CP/out/$1/violations"; return 1; }
}

# cp_yaml NAME: stdin to $CP/h/NAME.yml
cp_yaml() { cat >"$CP/h/$1.yml"; }

# The rules on hand-written models: no renderer needed.
compose_policy_unit_tests() {
  local m="$CP/unit"
  mkdir -p "$m"
  cat >"$m/off.json" <<EOF
{"name": "preview", "services": {"dspacedb": {"image": "postgres:15", "command": null,
 "entrypoint": null, "privileged": false, "pid": "", "cap_add": [], "devices": [],
 "security_opt": ["no-new-privileges:true"], "networks": {"dspacenet": null},
 "volumes": [{"type": "volume", "source": "pgdata", "target": "/pgdata", "volume": {}}]}},
 "networks": {"dspacenet": {"name": "preview_dspacenet", "ipam": {"config": [{"subnet": "172.23.0.0/16"}]}}},
 "volumes": {"pgdata": {"name": "preview_pgdata"}}}
EOF
  check "compose policy: privileged false, pid \"\", cap_add [] and no-new-privileges pass" eval \
    'PREVIEW_HOME="$AMI/files" compose_policy_violations "$m/off.json"'
  echo '{"services": ' >"$m/broken.json"
  check "compose policy: an unreadable model is refused" eval \
    '! out="$(PREVIEW_HOME="$AMI/files" compose_policy_violations "$m/broken.json")" &&
     grep -q "cannot be checked" <<<"$out"'
  jq '.services.dspacedb.build = {context: "/opt/src/DSpace"}' "$m/off.json" >"$m/noroot.json"
  check "compose policy: with no build root set, every build context is refused" eval \
    '! out="$(PREVIEW_HOME="$AMI/files" BACKEND_SRC=/ UI_SRC= compose_policy_violations "$m/noroot.json")" &&
     grep -q "service dspacedb: build context /opt/src/DSpace is no build root is set" <<<"$out"'
  jq '.services.dspacedb.build = {context: "/opt/src/DSpace/../../etc"}' "$m/off.json" >"$m/dotdot.json"
  check "compose policy: a context with .. is refused even if it starts inside a root" eval \
    '! out="$(PREVIEW_HOME="$AMI/files" BACKEND_SRC=/opt/src/DSpace compose_policy_violations "$m/dotdot.json")" &&
     grep -q "build context /opt/src/DSpace/../../etc is outside /opt/src/DSpace" <<<"$out"'
}

compose_policy_tests() {
  CP="$WORK/compose-policy"
  CP_PIDS=()
  mkdir -p "$CP/h" "$CP/out" "$CP/src/DSpace/dspace/solr" "$CP/src/dspace-angular"
  compose_policy_unit_tests
  if ! CP_BIN="$(compose_policy_renderer)"; then
    echo "# SKIP compose policy: no Compose v2 renderer"
    return
  fi
  # As write_env_overrides writes ENV_OVERRIDES (single quotes doubled, $ doubled).
  cat >"$CP/overrides.yml" <<'EOF'
services:
  dspace:
    environment:
      dspace__P__name: 'Preview of ''#1234'' $$HOME'
      LOGGING_CONFIG: '/dspace/config/log4j2-container.xml'
EOF

  # Hostile variants. EARLY ones are layered right after DSpace's files (as if the base
  # branch carried them), LATE ones after the overrides (for what preview.yml would reset).
  # The issue's two examples first.
  cp_yaml host-service <<'EOF'
services:
  dspace-helper:
    image: alpine
    network_mode: host
    volumes:
      - /:/host
EOF
  cp_yaml privileged-db <<'EOF'
services:
  dspacedb:
    privileged: true
EOF
  cp_yaml root-bind <<'EOF'
services:
  dspace:
    volumes:
      - /:/host
EOF
  cp_yaml docker-sock <<'EOF'
services:
  dspacesolr:
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
EOF
  cp_yaml build-network <<'EOF'
services:
  dspace:
    build:
      network: host
EOF
  cp_yaml cap-add <<'EOF'
services:
  dspacesolr:
    cap_add: [SYS_ADMIN]
EOF
  cp_yaml pid-host <<'EOF'
services:
  dspacedb:
    pid: host
EOF
  cp_yaml volume-bind <<'EOF'
volumes:
  pgdata:
    driver_opts:
      type: none
      o: bind
      device: /
EOF
  cp_yaml solr-context <<'EOF'
services:
  dspacesolr:
    build:
      additional_contexts:
        solrconfigs: ../../../../../..
EOF
  cp_yaml db-port <<'EOF'
services:
  dspacedb:
    ports:
      - "5432:5432"
EOF
  # HTTPS mode's loopback port, but on every interface, or for another service.
  cp_yaml proxy-8081-public <<'EOF'
services:
  dspace-proxy:
    ports: !override
      - "8081:80"
EOF
  cp_yaml db-loopback <<'EOF'
services:
  dspacedb:
    ports:
      - "127.0.0.1:8081:5432"
EOF
  cp_yaml env-file <<'EOF'
services:
  dspace:
    env_file: /etc/hostname
EOF
  cp_yaml secret <<'EOF'
services:
  dspace:
    secrets: [hostkey]
secrets:
  hostkey:
    file: /etc/hostname
EOF
  cp_yaml host-network <<'EOF'
services:
  dspace-angular:
    networks: [dspacenet, outside]
networks:
  outside:
    name: host
    external: true
EOF
  # A checkout whose dspace/solr is a symlink out of it (a PR can commit one; to / in an
  # attack, to a scratch directory here).
  mkdir -p "$CP/evil/DSpace/dspace" "$CP/outside"
  ln -sfn "$CP/outside" "$CP/evil/DSpace/dspace/solr"

  # Render everything at once (the renders are what takes time), then check.
  local branch entities built name
  for branch in main dspace-10_x dspace-9_x dspace-8_x; do
    for entities in no yes; do
      for built in backend ui both; do
        cp_bg "$branch-$entities-$built" "$branch" "$entities" "$built"
      done
    done
  done
  for name in host-service privileged-db docker-sock build-network cap-add pid-host \
    volume-bind solr-context env-file secret; do
    cp_bg "$name" main no backend "$CP/h/$name.yml"
  done
  cp_bg root-bind-early main no backend "$CP/h/root-bind.yml"
  for name in root-bind db-port host-network db-loopback; do
    cp_bg "$name" main no backend "" "$CP/h/$name.yml"
  done
  # HTTPS mode (compose/https.yml after preview.yml, as the boot lists it).
  cp_bg https main yes ui "" "$AMI/files/compose/https.yml"
  cp_bg proxy-8081-public main no backend "$AMI/files/compose/https.yml" "$CP/h/proxy-8081-public.yml"
  CP_BACKEND="$CP/evil/DSpace" cp_bg symlink dspace-8_x yes both
  cp_wait

  for branch in main dspace-10_x dspace-9_x dspace-8_x; do
    for entities in no yes; do
      for built in backend ui both; do
        check "compose policy: $branch, entities=$entities, built=$built: allowed, only :80, server url set" eval \
          'cp_allowed "$branch-$entities-$built" && cp_model_sane "$branch-$entities-$built"'
      done
    done
  done

  check "compose policy refuses (issue example) an extra service with network_mode host and / bound" eval \
    'cp_refused host-service "^service dspace-helper: not one of the services" &&
     grep -qx "service dspace-helper: network_mode host" "$CP/out/host-service/violations" &&
     grep -qx "service dspace-helper: bind mount / at /host" "$CP/out/host-service/violations"'
  check "compose policy refuses (issue example) a privileged dspacedb" eval \
    'cp_refused privileged-db "^service dspacedb: privileged$"'
  # preview.yml replaces dspace's volumes (!override): a / bind there in DSpace's file never
  # reaches the model; layered after it, the policy sees it.
  check "compose policy: a / bind on dspace in the base file is dropped by preview.yml" eval \
    'cp_allowed root-bind-early && ! grep -q "\"/host\"" "$CP/out/root-bind-early/compose-model.json"'
  check "compose policy refuses a / bind on dspace (layered after preview.yml)" eval \
    'cp_refused root-bind "^service dspace: bind mount / at /host$"'
  check "compose policy refuses the Docker socket bound into dspacesolr" eval \
    'cp_refused docker-sock "^service dspacesolr: bind mount /var/run/docker.sock at /var/run/docker.sock$"'
  check "compose policy refuses build.network host on dspace" eval \
    'cp_refused build-network "^service dspace: build network host$"'
  check "compose policy refuses cap_add SYS_ADMIN" eval \
    'cp_refused cap-add "^service dspacesolr: cap_add SYS_ADMIN$"'
  check "compose policy refuses pid host" eval \
    'cp_refused pid-host "^service dspacedb: pid host$"'
  check "compose policy refuses a named volume that is a bind of / (driver_opts)" eval \
    'cp_refused volume-bind "^volume pgdata: driver_opts .*\"device\":\"/\""'
  check "compose policy refuses a dspacesolr additional_context outside the checkout (../..)" eval \
    'cp_refused solr-context "^service dspacesolr: build additional_contexts solrconfigs=/[^ ]* is outside "'
  check "compose policy refuses 5432 published on dspacedb (layered after preview.yml)" eval \
    'cp_refused db-port "^service dspacedb: publishes port 5432 to 5432/tcp$"'
  check "compose policy refuses env_file (read from the host at render time)" eval \
    'cp_refused env-file "^service dspace: env_file /etc/hostname$"'
  check "compose policy refuses a build context that is a symlink out of the checkout" eval \
    'cp_refused symlink "^service dspacesolr: build additional_contexts solrconfigs [^ ]*/dspace/solr resolves to $CP/outside, outside the build roots$"'
  check "compose policy refuses secrets (host files handed to a container)" eval \
    'cp_refused secret "^secrets hostkey: not allowed$" &&
     grep -q "^service dspace: secrets " "$CP/out/secret/violations"'
  check "compose policy: HTTPS mode's model (https.yml) passes: the proxy only on 127.0.0.1:8081, its https nginx config" eval \
    'cp_allowed https &&
     jq -e "[.services[] | (.ports // [])[] | \"\\(.host_ip):\\(.published):\\(.target)\"] == [\"127.0.0.1:8081:80\"]
       and (.services[\"dspace-proxy\"].volumes | length == 1 and (.[0].source | endswith(\"/compose/nginx-https.conf\")))" \
       "$CP/out/https/compose-model.json" >/dev/null'
  check "compose policy refuses the proxy's 8081 on every interface" eval \
    'cp_refused proxy-8081-public "^service dspace-proxy: publishes port 8081 to 80/tcp$"'
  check "compose policy refuses a loopback port on another service than the proxy" eval \
    'cp_refused db-loopback "^service dspacedb: publishes port 8081 on 127.0.0.1 to 5432/tcp$"'
  check "compose policy refuses joining an external network (host)" eval \
    'cp_refused host-network "^network outside: external$" &&
     grep -qx "service dspace-angular: network outside" "$CP/out/host-network/violations"'
}
