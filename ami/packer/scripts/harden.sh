#!/bin/bash
# Last step: no way in but SSM, no credentials or build leftovers in the image.
set -euxo pipefail

# Previews are reached through SSM only. sshd keeps serving this Packer session; it is not
# started again on any instance made from the image.
systemctl disable sshd.service || true
systemctl mask sshd.service
dnf -y remove ec2-instance-connect || true

# The Docker Hub login of images.sh, if any.
docker logout || true
rm -f /root/.docker/config.json

dnf clean all
rm -rf /tmp/* /var/tmp/*
# Fresh cloud-init state, so each preview's user data runs at its first boot.
cloud-init clean --logs
