# shellcheck shell=bash
# HTTPS mode: when the launch step names the preview (PREVIEW_PUBLIC_NAME, e.g.
# b9876-u4415.previews.example.org, whose DNS record it created), Caddy on the host terminates
# TLS on 80/443 with a certificate it gets by ACME (HTTP-01 / TLS-ALPN-01) and redirects HTTP
# to HTTPS; the nginx proxy moves behind it on 127.0.0.1:8081 (compose/https.yml), and every
# DSpace URL is https://<name>. Without the name, nothing here runs: plain HTTP on port 80.
# The ACME directory: PREVIEW_ACME_CA (default Let's Encrypt production); PREVIEW_ACME_EMAIL
# optional. Sourced by preview-boot, and by ami/tests/https_proxy.sh for render_caddyfile.

PREVIEW_ACME_CA_DEFAULT="https://acme-v02.api.letsencrypt.org/directory"
# Where Caddy reads its configuration (the unit written by packer/scripts/caddy.sh).
PREVIEW_CADDYFILE="${PREVIEW_CADDYFILE:-${PREVIEW_FS_ROOT:-}/etc/caddy/Caddyfile}"
PREVIEW_CADDY_UNIT="${PREVIEW_CADDY_UNIT:-dspace-preview-caddy.service}"
# The nginx proxy behind Caddy (compose/https.yml publishes it there, loopback only).
PREVIEW_INNER_PROXY="127.0.0.1:8081"

https_mode() { [ -n "${PREVIEW_PUBLIC_NAME:-}" ]; }

# Called by validate_config. A lower-case DNS name of at least two labels, each 1-63 letters,
# digits or inner hyphens, 253 characters at most; an https ACME URL; a plain mail address.
# The values go into the Caddyfile unquoted, so nothing else may pass.
validate_https_config() {
  if https_mode; then
    if [ "${#PREVIEW_PUBLIC_NAME}" -gt 253 ] ||
      ! [[ "$PREVIEW_PUBLIC_NAME" =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
      fail config "PREVIEW_PUBLIC_NAME '$PREVIEW_PUBLIC_NAME' is not a DNS name"
    fi
  fi
  [[ "${PREVIEW_ACME_CA:-}" =~ ^(https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/%-]*)?)?$ ]] ||
    fail config "PREVIEW_ACME_CA '$PREVIEW_ACME_CA' is not an https URL"
  [[ "${PREVIEW_ACME_EMAIL:-}" =~ ^([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$ ]] ||
    fail config "PREVIEW_ACME_EMAIL '$PREVIEW_ACME_EMAIL' is not a mail address"
}

# render_caddyfile TEMPLATE KEY=VALUE...: the Caddyfile on stdout. Each @KEY@ of the template
# is replaced by its value; a line holding a key whose value is empty is left out (optional
# settings: acme_ca_root, email); a key left in the output is an error.
render_caddyfile() {
  local template="$1" kv line key
  shift
  local -A val=()
  for kv in "$@"; do val[${kv%%=*}]="${kv#*=}"; done
  while IFS= read -r line || [ -n "$line" ]; do
    while [[ "$line" =~ @([A-Z_]+)@ ]]; do
      key="${BASH_REMATCH[1]}"
      [ -n "${val[$key]+set}" ] || { echo "render_caddyfile: no value for @$key@" >&2; return 1; }
      [ -n "${val[$key]}" ] || continue 2
      line="${line//"@$key@"/"${val[$key]}"}"
    done
    printf '%s\n' "$line"
  done <"$template"
}

# The public name replaces the EC2 host name (after resolve_public_host) and the URLs become
# https://<name>; public-url tells the health check which scheme to probe.
use_public_name() {
  if https_mode; then
    log "HTTPS mode: public name $PREVIEW_PUBLIC_NAME (EC2 host $PUBLIC_HOST), ACME ${PREVIEW_ACME_CA:-$PREVIEW_ACME_CA_DEFAULT}"
    PUBLIC_HOST="$PREVIEW_PUBLIC_NAME"
    PUBLIC_URL="https://$PUBLIC_HOST"
    write_atomic "$PREVIEW_STATE_DIR/public-host" "$PUBLIC_HOST"
    log "public URLs: UI $PUBLIC_URL/ REST $PUBLIC_URL/server"
  else
    PUBLIC_URL="http://$PUBLIC_HOST"
  fi
  write_atomic "$PREVIEW_STATE_DIR/public-url" "$PUBLIC_URL"
}

# The Caddyfile for this preview (ports 80/443, both paths to the nginx proxy on loopback,
# which routes them inside the Docker network where the container names resolve), then Caddy.
# The certificate comes later, by ACME: the health check's tls probe waits for it.
start_tls_proxy() {
  mkdir -p "$(dirname "$PREVIEW_CADDYFILE")"
  render_caddyfile "$PREVIEW_HOME/compose/Caddyfile.template" \
    PUBLIC_NAME="$PREVIEW_PUBLIC_NAME" HTTP_PORT=80 HTTPS_PORT=443 \
    ACME_CA="${PREVIEW_ACME_CA:-$PREVIEW_ACME_CA_DEFAULT}" ACME_CA_ROOT="" \
    ACME_EMAIL="${PREVIEW_ACME_EMAIL:-}" \
    REST_UPSTREAM="$PREVIEW_INNER_PROXY" UI_UPSTREAM="$PREVIEW_INNER_PROXY" \
    >"$PREVIEW_CADDYFILE.tmp" || fail boot-failed "could not render the Caddyfile"
  chmod 0644 "$PREVIEW_CADDYFILE.tmp"
  mv -f "$PREVIEW_CADDYFILE.tmp" "$PREVIEW_CADDYFILE"
  log "Caddyfile for $PREVIEW_PUBLIC_NAME written to $PREVIEW_CADDYFILE"
  run systemctl restart "$PREVIEW_CADDY_UNIT" || fail boot-failed "Caddy ($PREVIEW_CADDY_UNIT) did not start"
}
