#!/bin/bash
# Docker Engine from the distribution, Compose v2 and buildx plugins pinned from their
# GitHub releases (checksums verified), BuildKit cache kept large enough for the warm layers.
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
: "${COMPOSE_VERSION:?}" "${BUILDX_VERSION:?}"
begin docker.sh COMPOSE_VERSION BUILDX_VERSION

run dnf -y install docker
case "$(uname -m)" in
  x86_64) compose_arch=x86_64; go_arch=amd64 ;;
  aarch64) compose_arch=aarch64; go_arch=arm64 ;;
  *) echo "unsupported arch $(uname -m)"; exit 1 ;;
esac

plugins=/usr/libexec/docker/cli-plugins
# install_plugins COMPOSE_URL BUILDX_URL: both downloaded and checked against their published
# sha256 (compose: <url>.sha256; buildx: checksums.txt next to it), then installed.
install_plugins() {
  local tmp buildx="${2##*/}"
  tmp="$(mktemp -d)"
  cd "$tmp"
  curl -fsSLo docker-compose "$1"
  curl -fsSLo docker-compose.sha256 "$1.sha256"
  echo "$(cut -d' ' -f1 docker-compose.sha256)  docker-compose" | sha256sum -c -
  curl -fsSLo "$buildx" "$2"
  curl -fsSLo checksums.txt "${2%/*}/checksums.txt"
  grep " \*\?$buildx\$" checksums.txt | sed 's/ \*/  /' | sha256sum -c -
  install -m 0755 docker-compose "$plugins/docker-compose"
  install -m 0755 "$buildx" "$plugins/docker-buildx"
  cd /
  rm -rf "$tmp"
}
run mkdir -p "$plugins"
run install_plugins \
  "https://github.com/docker/compose/releases/download/v$COMPOSE_VERSION/docker-compose-linux-$compose_arch" \
  "https://github.com/docker/buildx/releases/download/v$BUILDX_VERSION/buildx-v$BUILDX_VERSION.linux-$go_arch"

# json-file until a preview's boot switches the default driver to awslogs (it knows the
# log group); BuildKit cache big enough for four branches of npm layers. No BuildKit
# entitlements: a PR's build code is untrusted, so no `RUN --network=host` and no
# `--allow security.insecure` (network-host is allowed by default otherwise).
run mkdir -p /etc/docker
write /etc/docker/daemon.json <<'JSON'
{
  "log-driver": "json-file",
  "log-opts": {"max-size": "20m", "max-file": "3"},
  "features": {"buildkit": true},
  "builder": {
    "gc": {"enabled": true, "defaultKeepStorage": "25GB"},
    "entitlements": {"network-host": false, "security-insecure": false}
  }
}
JSON
run systemctl enable --now docker
run docker version
run docker compose version
run docker buildx version
