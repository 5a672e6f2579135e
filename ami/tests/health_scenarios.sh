# shellcheck shell=bash
# Assertions are single-quoted on purpose (expanded by eval in check); variables are shared
# between the sourced test files.
# shellcheck disable=SC2016,SC2034
# The health check against prepared state, with the stubs answering for docker and curl.

ALL_CHECKS='["db","solr","rest","sites","actuator","content","ui","ssr"]'

# on_machine NAME PHASE [SAMPLE_CONTENT]: a machine whose boot reached PHASE.
on_machine() {
  new_machine "$1"
  local st="$ROOT/var/lib/dspace-preview"
  [ -z "$2" ] || echo "$2" >"$st/phase"
  echo "$PUBLIC_HOST" >"$st/public-host"
  printf 'PREVIEW_ID=dsp-x\nSAMPLE_CONTENT=%s\n' "${3:-entities}" >"$st/config.env"
}

health_tests() {
  on_machine fresh ""
  health
  check "health: before the boot writes a phase, pending (75)" eval \
    'health_is pending 75 && [ "$(jq -r .phase <<<"$HOUT")" = booting ] && health_passed "[]"'

  on_machine building building-backend
  echo '{"backend":"hit"}' >"$ROOT/var/lib/dspace-preview/build-cache.json"
  health
  check "health: while building, pending (75) without probing; the build cache outcome already shows" eval \
    'health_is pending 75 && [ "$(jq -r .phase <<<"$HOUT")" = building-backend ] && not_called curl &&
     jq -e ".build_cache == {\"backend\":\"hit\"}" <<<"$HOUT"'

  # Not yet, then healthy: the same machine, first while the backend starts, then ready.
  on_machine rising starting
  health STUB_BACKEND_DOWN=1
  check "health: starting, REST not answering: pending (75), db and solr passed" eval \
    'health_is pending 75 && health_passed "[\"db\",\"solr\"]" && health_detail_has "rest:"'
  check "health: probes db inside dspacedb and Solr on its container address" eval \
    'called docker exec dspacedb pg_isready -q -U dspace -d dspace &&
     called curl --max-time 5 "http://172.23.0.4:8983/solr/admin/cores?action=STATUS&wt=json"'
  health
  check "health: starting, all checks pass: still pending until the boot is done" eval \
    'health_is pending 75 && health_passed "$ALL_CHECKS"'
  echo ready >"$ROOT/var/lib/dspace-preview/phase"
  health
  check "health: ready and all checks pass: healthy (0), checks in order" eval \
    'health_is healthy 0 && health_passed "$ALL_CHECKS" && [ "$(jq -r .phase <<<"$HOUT")" = ready ]'
  check "health: REST and UI probed through the proxy with the public Host" eval \
    'called curl "Host: $PUBLIC_HOST" http://127.0.0.1/server/api &&
     called curl "Host: $PUBLIC_HOST" http://127.0.0.1/server/actuator/health &&
     called curl "Host: $PUBLIC_HOST" http://127.0.0.1/server/api/core/communities/search/top &&
     called curl "Host: $PUBLIC_HOST" http://127.0.0.1/app/health &&
     called curl "Host: $PUBLIC_HOST" http://127.0.0.1/home'
  check "health: every curl has a short timeout" eval \
    '! grep "^curl" "$S/calls.log" | grep -v -- "--max-time 5" | grep -q .'
  health STUB_ACTUATOR=DOWN
  check "health: actuator DOWN (HTTP 200) is not healthy" eval \
    'health_is pending 75 && health_detail_has "actuator: health status '"'"'DOWN'"'"'"'
  health STUB_COMMUNITIES=0
  check "health: no indexed content yet: pending" eval 'health_is pending 75 && health_detail_has content:'
  health STUB_UI_DOWN=1
  check "health: UI down: pending after the backend checks" eval \
    'health_is pending 75 && health_passed "[\"db\",\"solr\",\"rest\",\"sites\",\"actuator\",\"content\"]"'
  health STUB_DSPACE_SERVER=http://localhost:8080/server
  check "health: backend advertising another server URL is a failure" eval \
    'health_is failed 1 && health_detail_has "expected '"'"'http://$PUBLIC_HOST/server'"'"'"'
  health STUB_STATE_dspace_angular="exited 137"
  check "health: an exited container is a crash: failed (1)" eval \
    'health_is failed 1 && health_detail_has "container-exited: dspace-angular exited with code 137"'

  check "health: no build-cache.json: build_cache is {}" eval 'jq -e ".build_cache == {}" <<<"$HOUT"'
  echo '{"backend":"hit","ui":"miss"}' >"$ROOT/var/lib/dspace-preview/build-cache.json"
  health
  check "health: the build cache outcome per built side is in the JSON" eval \
    'health_is healthy 0 && jq -e ".build_cache == {\"backend\":\"hit\",\"ui\":\"miss\"}" <<<"$HOUT"'

  on_machine no-content ready none
  health
  check "health: without sample content the content check is skipped" eval \
    'health_is healthy 0 && health_passed "[\"db\",\"solr\",\"rest\",\"sites\",\"actuator\",\"ui\",\"ssr\"]"'

  on_machine starting-early starting
  health STUB_STATE_dspace_proxy=missing
  check "health: starting, container not created yet: pending" eval 'health_is pending 75'
  echo loading-content >"$ROOT/var/lib/dspace-preview/phase"
  health STUB_STATE_dspace_proxy=missing
  check "health: the proxy starts last, so before ready its absence is not yet a failure" eval \
    'health_is pending 75 && health_detail_has "proxy not started yet"'
  health STUB_STATE_dspace=missing
  check "health: after starting, a missing container is a failure" eval \
    'health_is failed 1 && health_detail_has "dspace is missing"'
  echo ready >"$ROOT/var/lib/dspace-preview/phase"
  health STUB_STATE_dspace_proxy=missing
  check "health: ready without the proxy is a failure" eval \
    'health_is failed 1 && health_detail_has "dspace-proxy is missing"'

  # HTTPS mode: through Caddy on 443 with the name, the certificate checked; tls before rest.
  on_machine https-health ready
  echo b9876-u4415.previews.example.org >"$ROOT/var/lib/dspace-preview/public-host"
  echo https://b9876-u4415.previews.example.org >"$ROOT/var/lib/dspace-preview/public-url"
  health
  check "health https: healthy with tls among the checks; detail is the https URL" eval \
    'health_is healthy 0 && health_passed "[\"db\",\"solr\",\"tls\",\"rest\",\"sites\",\"actuator\",\"content\",\"ui\",\"ssr\"]" &&
     [ "$(jq -r .detail <<<"$HOUT")" = https://b9876-u4415.previews.example.org/ ]'
  check "health https: probes go through Caddy (443, --resolve to loopback), not plain HTTP" eval \
    'called curl --resolve b9876-u4415.previews.example.org:443:127.0.0.1 https://b9876-u4415.previews.example.org/server/api &&
     called curl --resolve b9876-u4415.previews.example.org:443:127.0.0.1 https://b9876-u4415.previews.example.org/home &&
     not_called curl http://127.0.0.1/ && ! grep "^curl" "$S/calls.log" | grep -v -- "--max-time 5" | grep -q .'
  health STUB_TLS_DOWN=1
  check "health https: no certificate yet (ACME pending or refused): pending with a tls detail" eval \
    'health_is pending 75 && health_passed "[\"db\",\"solr\"]" && health_detail_has "tls: no valid certificate"'
  health STUB_DSPACE_SERVER=http://b9876-u4415.previews.example.org/server
  check "health https: a backend still advertising http:// is a failure" eval \
    'health_is failed 1 && health_detail_has "expected '"'"'https://b9876-u4415.previews.example.org/server'"'"'"'

  on_machine dead-boot building-ui
  sh -c 'exit 0' & local pid=$!
  wait "$pid"
  echo "$pid" >"$ROOT/var/lib/dspace-preview/boot.pid"
  health
  check "health: the boot script died mid-way: failed" eval \
    'health_is failed 1 && health_detail_has "boot-failed: the boot script stopped in phase building-ui"'
}
