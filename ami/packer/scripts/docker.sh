#!/bin/bash
# Docker Engine from the distribution, Compose v2 and buildx plugins pinned from their
# GitHub releases (checksums verified), BuildKit cache kept large enough for the warm layers.
set -euxo pipefail
: "${COMPOSE_VERSION:?}" "${BUILDX_VERSION:?}"

dnf -y install docker
case "$(uname -m)" in
  x86_64) compose_arch=x86_64; go_arch=amd64 ;;
  aarch64) compose_arch=aarch64; go_arch=arm64 ;;
  *) echo "unsupported arch $(uname -m)"; exit 1 ;;
esac

plugins=/usr/libexec/docker/cli-plugins
mkdir -p "$plugins"
tmp="$(mktemp -d)"
cd "$tmp"
curl -fsSLo docker-compose "https://github.com/docker/compose/releases/download/v$COMPOSE_VERSION/docker-compose-linux-$compose_arch"
curl -fsSLo docker-compose.sha256 "https://github.com/docker/compose/releases/download/v$COMPOSE_VERSION/docker-compose-linux-$compose_arch.sha256"
echo "$(cut -d' ' -f1 docker-compose.sha256)  docker-compose" | sha256sum -c -
buildx="buildx-v$BUILDX_VERSION.linux-$go_arch"
curl -fsSLo "$buildx" "https://github.com/docker/buildx/releases/download/v$BUILDX_VERSION/$buildx"
curl -fsSLo checksums.txt "https://github.com/docker/buildx/releases/download/v$BUILDX_VERSION/checksums.txt"
grep " \*\?$buildx\$" checksums.txt | sed 's/ \*/  /' | sha256sum -c -
install -m 0755 docker-compose "$plugins/docker-compose"
install -m 0755 "$buildx" "$plugins/docker-buildx"
cd /
rm -rf "$tmp"

# json-file until a preview's boot switches the default driver to awslogs (it knows the
# log group); BuildKit cache big enough for four branches of npm layers.
mkdir -p /etc/docker
cat >/etc/docker/daemon.json <<'JSON'
{
  "log-driver": "json-file",
  "log-opts": {"max-size": "20m", "max-file": "3"},
  "features": {"buildkit": true},
  "builder": {"gc": {"enabled": true, "defaultKeepStorage": "25GB"}}
}
JSON
systemctl enable --now docker
docker version
docker compose version
docker buildx version
