#!/bin/bash
# Install the preview scripts (ami/files, uploaded by the recipe) to /opt/dspace-preview.
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
: "${PROXY_IMAGE:?}"
begin install.sh PROXY_IMAGE

home=/opt/dspace-preview
files=/tmp/dspace-preview-files
[ -f "$files/bin/preview-boot" ] || { echo "no $files/bin/preview-boot: ami/files was not uploaded"; exit 1; }
note "uploaded to $files: $(cd "$files" && find . -type f | sort | tr '\n' ' ')"
run mkdir -p "$home/etc" "$home/src" /var/lib/dspace-preview /var/log/dspace-preview
run cp -r "$files/bin" "$files/lib" "$files/compose" "$home/"
run chmod 0755 "$home"/bin/*
run chown -R root:root "$home"
run chmod 0700 /var/lib/dspace-preview
run rm -rf "$files"
# Images besides DSpace's that the boot uses; pre-pulled by images.sh.
printf 'PROXY_IMAGE=%s\n' "$PROXY_IMAGE" | write "$home/etc/images.env"
