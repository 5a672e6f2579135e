#!/bin/bash
# Install the preview scripts (ami/files) to /opt/dspace-preview.
set -euxo pipefail
: "${PROXY_IMAGE:?}"

home=/opt/dspace-preview
mkdir -p "$home/etc" "$home/src" /var/lib/dspace-preview /var/log/dspace-preview
cp -r /tmp/dspace-preview-files/bin /tmp/dspace-preview-files/lib /tmp/dspace-preview-files/compose "$home/"
chmod 0755 "$home"/bin/*
chown -R root:root "$home"
chmod 0700 /var/lib/dspace-preview
rm -rf /tmp/dspace-preview-files
# Images besides DSpace's that the boot uses; pre-pulled by images.sh.
printf 'PROXY_IMAGE=%s\n' "$PROXY_IMAGE" >"$home/etc/images.env"
