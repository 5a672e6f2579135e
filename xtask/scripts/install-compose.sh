#!/bin/bash
# Installs Docker Compose v2 (only its renderer is used: `docker compose config` needs no daemon)
# into DEST/bin/docker-compose, from Debian's own package. Bookworm ships only Compose v1, which
# knows neither `!reset` nor `config --format json`, so the package comes from trixie, fetched
# with a private apt state: the machine's sources and installed packages stay as they are.
set -euo pipefail
dest="${1:?usage: install-compose.sh DEST}"
suite="${COMPOSE_DEBIAN_SUITE:-trixie}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
# The machine's own Debian mirror (its configured apt sources), not the security archive.
mirror="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n' |
  grep -v security | head -n 1)"
[ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)"
[ -n "$mirror" ] || { echo "no Debian mirror in the apt sources" >&2; exit 1; }
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$work/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" download -qq docker-compose)
dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
mkdir -p "$dest/bin"
install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$dest/bin/docker-compose"
"$dest/bin/docker-compose" version
