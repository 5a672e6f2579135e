# shellcheck shell=bash
# Assertions are single-quoted on purpose (expanded by eval in check); variables are shared
# between the sourced test files.
# shellcheck disable=SC2016,SC2034
# The HTTPS mode's TLS proxy for real: Debian's Pebble (Let's Encrypt's test ACME server) on
# loopback, Caddy with the instance's own Caddyfile template rendered by the boot's own
# render_caddyfile (lib/https.sh) for a test name, its ACME CA pointed at Pebble, and a tiny
# stand-in for DSpace (two python3 HTTP servers, REST and UI, echoing what they received).
# Checked with a real TLS client (curl, trusting Pebble's issuing root only): the certificate
# is for the name, / goes to the UI and /server/api to the REST API with the visitor's Host
# and X-Forwarded-Proto: https, plain HTTP redirects to HTTPS.
#
# Pebble validates nothing (PEBBLE_VA_ALWAYS_VALID=1): its HTTP-01 / TLS-ALPN-01 requests
# could not reach a test name anyway. Unprivileged ports (the template's http_port and
# https_port). Needs caddy, pebble, openssl, curl, python3 (`cargo xtask setup` installs
# caddy and pebble); without caddy or pebble it says "# SKIP", except in CI, where that fails.

HTTPS_NAME=b1-u2.previews.test

https_proxy_tests() {
  local missing="" tool
  for tool in caddy pebble openssl curl python3; do
    command -v "$tool" >/dev/null || missing+=" $tool"
  done
  if [ -n "$missing" ]; then
    if [ -n "${CI:-}" ]; then
      not_ok "https proxy: missing$missing (cargo xtask setup installs caddy and pebble)"
    else
      echo "# SKIP https proxy (Pebble + Caddy):$missing not installed (apt-get install -y caddy pebble)"
    fi
    return
  fi
  HP="$WORK/https-proxy"
  rm -rf "$HP"
  mkdir -p "$HP"
  local start=$SECONDS
  # A subshell, so its EXIT trap (stopping Pebble, Caddy, the stand-ins) leaves run.sh's alone.
  ( https_proxy_run ) >"$HP/run.log" 2>&1
  echo "# https proxy test: $((SECONDS - start)) s"
  if [ -s "$HP/setup-failed" ]; then
    not_ok "https proxy: setup" "$(cat "$HP/setup-failed")" "$(tail -n 5 "$HP/run.log")" \
      "$(tail -n 3 "$HP/caddy.log" 2>/dev/null)"
    return
  fi
  local https
  https="https://$HTTPS_NAME:$(cat "$HP/https-port")"
  check "https proxy: the rendered Caddyfile is the template with the name, Pebble's CA and both upstreams, nothing left over" eval \
    'grep -qx "$HTTPS_NAME {" "$HP/Caddyfile" && grep -q "acme_ca https://127.0.0.1:" "$HP/Caddyfile" &&
     grep -q "acme_ca_root $HP/pebble-tls/ca.pem" "$HP/Caddyfile" && ! grep -q "^[[:space:]]*email" "$HP/Caddyfile" &&
     ! grep -q "@[A-Z_]*@" "$HP/Caddyfile"'
  check "https proxy: caddy validates the rendered Caddyfile" eval \
    'XDG_DATA_HOME="$HP/data" XDG_CONFIG_HOME="$HP/config" caddy validate --config "$HP/Caddyfile" --adapter caddyfile'
  check "https proxy: Caddy got a certificate for the name from Pebble (ACME), served over TLS" eval \
    'openssl x509 -in "$HP/served.pem" -noout -subject -ext subjectAltName 2>/dev/null | grep -q "DNS:$HTTPS_NAME" &&
     openssl verify -CAfile "$HP/pebble-root.pem" -untrusted "$HP/pebble-chain.pem" "$HP/served.pem"'
  check "https proxy: the certificate's subject is the name" eval \
    'openssl x509 -in "$HP/served.pem" -noout -subject -nameopt RFC2253 | grep -qx "subject=CN=$HTTPS_NAME" ||
     { openssl x509 -in "$HP/served.pem" -noout -subject; false; }'
  # {host} is the visitor's host name without the port (on the instance the port is 443).
  check "https proxy: / goes to the UI with the visitor's Host and X-Forwarded-Proto: https" eval \
    'jq -e --arg h "$HTTPS_NAME" ".who == \"ui\" and .path == \"/\" and .host == \$h and .proto == \"https\"" "$HP/root.json"'
  check "https proxy: /server/api goes to the REST API with the visitor's Host and X-Forwarded-Proto: https" eval \
    'jq -e --arg h "$HTTPS_NAME" ".who == \"rest\" and .path == \"/server/api\" and .host == \$h and .proto == \"https\"" "$HP/rest.json"'
  check "https proxy: a UI path that starts like the API (/home) still goes to the UI" eval \
    'jq -e ".who == \"ui\" and .path == \"/home\"" "$HP/home.json"'
  # Caddy 2.6 leaves a non-default https_port out of its redirect; on the instance it is 443,
  # so the Location is https://<name>/... either way.
  check "https proxy: plain HTTP redirects to the same path over HTTPS" eval \
    'grep -qE "^(308|301|302)$" "$HP/redirect.code" &&
     grep -qxE "($https|https://$HTTPS_NAME)/server/api\?x=1" "$HP/redirect.location" ||
     { cat "$HP/redirect.code" "$HP/redirect.location"; false; }'
  check "https proxy: a client that does not trust Pebble's root refuses the certificate" \
    eval '[ "$(cat "$HP/untrusted.rc")" != 0 ]'
}

https_proxy_stop() {
  local pid
  for pid in "${HP_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
}

# Runs in a subshell: Pebble, the stand-ins, Caddy; the answers into $HP. Stops what it started.
https_proxy_run() {
  HP_PIDS=()
  trap https_proxy_stop EXIT
  setup_failed() { echo "$*" >"$HP/setup-failed"; exit 0; }
  local acme mgmt rest ui http https
  acme="$(free_port)"; mgmt="$(free_port)"; rest="$(free_port)"; ui="$(free_port)"
  http="$(free_port)"; https="$(free_port)"
  echo "$https" >"$HP/https-port"

  # Pebble's own TLS (its directory and management API): Debian's package ships no test
  # certificate, so a throwaway CA and a localhost certificate for this run.
  local tls="$HP/pebble-tls"
  mkdir -p "$tls"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
  if ! { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dspace-preview test CA" \
           -keyout "$tls/ca.key" -out "$tls/ca.pem" &&
         openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/key.pem" -out "$tls/req.pem" &&
         openssl x509 -req -in "$tls/req.pem" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
           -extfile "$tls/ext" -out "$tls/cert.pem"; } 2>"$HP/openssl.log"; then
    setup_failed "openssl: Pebble's TLS certificate ($(tail -n 1 "$HP/openssl.log"))"
  fi
  jq -n --arg l "127.0.0.1:$acme" --arg m "127.0.0.1:$mgmt" --arg c "$tls/cert.pem" --arg k "$tls/key.pem" \
    --argjson h "$http" --argjson t "$https" \
    '{pebble: {listenAddress: $l, managementListenAddress: $m, certificate: $c, privateKey: $k,
      httpPort: $h, tlsPort: $t, ocspResponderURL: "", externalAccountBindingRequired: false}}' >"$HP/pebble.json"
  PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
    pebble -config "$HP/pebble.json" >"$HP/pebble.log" 2>&1 &
  HP_PIDS+=($!)

  # The stand-in for DSpace: the REST API and the UI, each echoing what reached it.
  python3 - "$rest" "$ui" >"$HP/standin.log" 2>&1 <<'PY' &
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def handler(who):
    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"who": who, "path": self.path, "host": self.headers.get("Host"),
                               "proto": self.headers.get("X-Forwarded-Proto")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    return Echo

servers = [ThreadingHTTPServer(("127.0.0.1", int(port)), handler(who))
           for port, who in ((sys.argv[1], "rest"), (sys.argv[2], "ui"))]
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
servers[0].serve_forever()
PY
  HP_PIDS+=($!)
  if ! { wait_port "$acme" && wait_port "$rest" && wait_port "$ui"; }; then
    setup_failed "Pebble or the stand-in did not start"
  fi

  # The instance's template, rendered by the instance's own function.
  # shellcheck source=../files/lib/https.sh
  . "$AMI/files/lib/https.sh"
  render_caddyfile "$AMI/files/compose/Caddyfile.template" PUBLIC_NAME="$HTTPS_NAME" \
    HTTP_PORT="$http" HTTPS_PORT="$https" ACME_CA="https://127.0.0.1:$acme/dir" \
    ACME_CA_ROOT="$tls/ca.pem" ACME_EMAIL="" \
    REST_UPSTREAM="127.0.0.1:$rest" UI_UPSTREAM="127.0.0.1:$ui" >"$HP/Caddyfile" ||
    setup_failed "render_caddyfile failed"
  XDG_DATA_HOME="$HP/data" XDG_CONFIG_HOME="$HP/config" \
    caddy run --config "$HP/Caddyfile" --adapter caddyfile >"$HP/caddy.log" 2>&1 &
  HP_PIDS+=($!)
  wait_port "$https" || setup_failed "Caddy did not listen on $https"

  # Pebble's issuing root (it makes a new one each start) from its management API.
  if ! { curl -fsS --cacert "$tls/ca.pem" "https://127.0.0.1:$mgmt/roots/0" >"$HP/pebble-root.pem" &&
         curl -fsS --cacert "$tls/ca.pem" "https://127.0.0.1:$mgmt/intermediates/0" >"$HP/pebble-chain.pem"; }; then
    setup_failed "Pebble's management API gave no root"
  fi

  # The certificate: Caddy serves it once ACME is done (a few seconds; 60 at most).
  local resolve=(--resolve "$HTTPS_NAME:$https:127.0.0.1") _ ok=""
  for _ in $(seq 120); do
    if curl -fsS --max-time 5 "${resolve[@]}" --cacert "$HP/pebble-root.pem" -o "$HP/root.json" \
      "https://$HTTPS_NAME:$https/"; then ok=1; break; fi
    sleep 0.5
  done
  [ -n "$ok" ] || setup_failed "no certificate for $HTTPS_NAME within 60 s (caddy.log, pebble.log)"
  openssl s_client -connect "127.0.0.1:$https" -servername "$HTTPS_NAME" </dev/null 2>/dev/null |
    openssl x509 >"$HP/served.pem"
  curl -fsS --max-time 5 "${resolve[@]}" --cacert "$HP/pebble-root.pem" -o "$HP/rest.json" "https://$HTTPS_NAME:$https/server/api"
  curl -fsS --max-time 5 "${resolve[@]}" --cacert "$HP/pebble-root.pem" -o "$HP/home.json" "https://$HTTPS_NAME:$https/home"
  curl -sS --max-time 5 --resolve "$HTTPS_NAME:$http:127.0.0.1" -o /dev/null -w '%{http_code}\n%{redirect_url}\n' \
    "http://$HTTPS_NAME:$http/server/api?x=1" >"$HP/redirect.out"
  sed -n 1p "$HP/redirect.out" >"$HP/redirect.code"
  sed -n 2p "$HP/redirect.out" >"$HP/redirect.location"
  curl -sS --max-time 5 "${resolve[@]}" -o /dev/null "https://$HTTPS_NAME:$https/" 2>/dev/null
  echo $? >"$HP/untrusted.rc"
}
