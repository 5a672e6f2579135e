#!/bin/bash
# Caddy, the TLS proxy of previews with a public name (HTTPS mode, files/lib/https.sh):
# Amazon Linux 2023 has no caddy package, so the pinned GitHub release (its published
# SHA-512 checked) goes to /usr/local/bin, with a systemd unit the boot starts only in HTTPS
# mode (not enabled: a preview without a name never runs it).
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
: "${CADDY_VERSION:?}"
begin caddy.sh CADDY_VERSION

case "$(uname -m)" in
  x86_64) go_arch=amd64 ;;
  aarch64) go_arch=arm64 ;;
  *) echo "unsupported arch $(uname -m)"; exit 1 ;;
esac

# install_caddy URL CHECKSUMS_URL: downloaded, checked against the release's checksums file,
# installed.
install_caddy() {
  local tmp archive="${1##*/}"
  tmp="$(mktemp -d)"
  cd "$tmp"
  curl -fsSLo "$archive" "$1"
  curl -fsSLo checksums.txt "$2"
  grep " \*\?$archive\$" checksums.txt | sed 's/ \*/  /' | sha512sum -c -
  tar xzf "$archive" caddy
  install -m 0755 caddy /usr/local/bin/caddy
  cd /
  rm -rf "$tmp"
}
release="https://github.com/caddyserver/caddy/releases/download/v$CADDY_VERSION"
run install_caddy "$release/caddy_${CADDY_VERSION}_linux_$go_arch.tar.gz" "$release/caddy_${CADDY_VERSION}_checksums.txt"
run mkdir -p /etc/caddy

# An unprivileged dynamic user that may bind 80 and 443; certificates and ACME account in
# /var/lib/caddy (StateDirectory); the Caddyfile the boot renders.
write /etc/systemd/system/dspace-preview-caddy.service <<'UNIT'
[Unit]
Description=dspace-preview TLS proxy (Caddy), started by preview-boot in HTTPS mode
After=network-online.target docker.service
Wants=network-online.target

[Service]
DynamicUser=yes
StateDirectory=caddy
Environment=XDG_DATA_HOME=/var/lib XDG_CONFIG_HOME=/var/lib
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ExecStart=/usr/local/bin/caddy run --config /etc/caddy/Caddyfile --adapter caddyfile
Restart=on-failure
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
UNIT
run systemctl daemon-reload
run /usr/local/bin/caddy version
