#!/bin/bash
# Base system of a preview host (Amazon Linux 2023): tools, agents, swap.
set -euxo pipefail
# shellcheck source=common.sh
. /tmp/dspace-preview-common.sh
begin base.sh

run dnf -y upgrade --releasever=latest || run dnf -y upgrade
# git/jq/unzip for the boot script; the CloudWatch agent ships the boot log; the SSM agent
# (preinstalled on AL2023) runs the health check.
run dnf -y install git jq unzip tar amazon-cloudwatch-agent amazon-ssm-agent
run systemctl enable amazon-ssm-agent
run ln -sf /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl /usr/local/bin/amazon-cloudwatch-agent-ctl

# 4 GB swap: a Maven or Angular build next to a running stack peaks above 8 GB.
# fallocate writes no blocks, so the snapshot does not grow by 4 GB.
if [ ! -f /swapfile ]; then
  run fallocate -l 4G /swapfile
  run chmod 600 /swapfile
  run mkswap /swapfile
  echo '/swapfile none swap defaults 0 0' | write -a /etc/fstab
fi
echo 'vm.swappiness = 10' | write /etc/sysctl.d/90-dspace-preview.conf
