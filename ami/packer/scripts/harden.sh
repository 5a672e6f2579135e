#!/bin/bash
# Last step: no way in but SSM, no credentials or build leftovers in the image.
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
begin harden.sh

# Previews are reached through SSM only. sshd keeps serving this Packer session; it is not
# started again on any instance made from the image.
run systemctl disable sshd.service || true
run systemctl mask sshd.service
run dnf -y remove ec2-instance-connect || true

# The Docker Hub login of images.sh, if any.
run docker logout || true
run rm -f /root/.docker/config.json

run dnf clean all
run rm -rf /tmp/* /var/tmp/*
# Fresh cloud-init state, so each preview's user data runs at its first boot.
run cloud-init clean --logs
