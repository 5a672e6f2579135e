#!/bin/bash
# Packer shell-local post-processor: publish the AMI id of the build that just finished to
# SSM, as an aws:ec2:image parameter (SSM checks it is an AMI). Each arch goes to
# <SSM_PARAMETER>-<arch>; DEFAULT_ARCH also to <SSM_PARAMETER>, which the launch step reads.
set -euo pipefail
: "${MANIFEST:?}" "${SSM_PARAMETER:?}" "${DEFAULT_ARCH:?}" "${AWS_REGION:?}"
: "${PACKER_BUILD_NAME:?}" "${PACKER_RUN_UUID:?}"

artifact="$(jq -r --arg uuid "$PACKER_RUN_UUID" --arg name "$PACKER_BUILD_NAME" \
  '[.builds[] | select(.packer_run_uuid == $uuid and .name == $name)] | last | .artifact_id // empty' "$MANIFEST")"
ami="${artifact#*:}"   # "us-east-1:ami-0123" -> "ami-0123"
[[ "$ami" == ami-* ]] || { echo "no AMI for build $PACKER_BUILD_NAME in $MANIFEST" >&2; exit 1; }

put() {
  aws ssm put-parameter --region "$AWS_REGION" --name "$1" --value "$ami" --type String \
    --data-type aws:ec2:image --overwrite >/dev/null
  echo "published $ami to $1"
}
put "$SSM_PARAMETER-$PACKER_BUILD_NAME"
if [ "$PACKER_BUILD_NAME" = "$DEFAULT_ARCH" ]; then put "$SSM_PARAMETER"; fi
