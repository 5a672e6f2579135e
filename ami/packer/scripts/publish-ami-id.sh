#!/bin/bash
# Packer shell-local post-processor: publish the AMI id of the build that just finished to
# SSM, as an aws:ec2:image parameter (SSM checks it is an AMI). Each arch goes to
# <SSM_PARAMETER>-<ARCH>; DEFAULT_ARCH also to <SSM_PARAMETER>, which the launch step reads.
#
# ARCH is the build's own name (the recipe passes source.name: x86_64, arm64), never
# PACKER_BUILD_NAME: in an HCL2 build that is the label of the source block both arches share
# (al2023), and so is the manifest's "name". This build's manifest entry is the one of this run
# (PACKER_RUN_UUID) whose custom_data.arch is ARCH.
#
# AWS_ENDPOINT_URL, if set, is passed to the AWS CLI as --endpoint-url (AWS CLI 2 before 2.13
# ignores the variable); the recipe's test points it at a local AWS emulator.
set -euo pipefail
: "${MANIFEST:?}" "${SSM_PARAMETER:?}" "${DEFAULT_ARCH:?}" "${AWS_REGION:?}" "${ARCH:?}" "${PACKER_RUN_UUID:?}"

entry="$(jq -c --arg uuid "$PACKER_RUN_UUID" --arg arch "$ARCH" \
  '[.builds[] | select(.packer_run_uuid == $uuid and .custom_data.arch == $arch)] | last // empty' "$MANIFEST")"
[ -n "$entry" ] || { echo "no build of arch $ARCH in this run ($PACKER_RUN_UUID) in $MANIFEST" >&2; exit 1; }
if [ "$(jq -r .builder_type <<<"$entry")" = null ]; then
  # The recipe's test (ami/tests/packer_build.sh) builds with null sources, which make no AMI;
  # it names one per arch, registered in its AWS emulator, as NULL_BUILD_AMI_<arch>.
  var="NULL_BUILD_AMI_$ARCH"
  ami="${!var:-}"
else
  # artifact_id: "us-east-1:ami-0123" (one region:id pair per region holding the AMI).
  ami="$(jq -r .artifact_id <<<"$entry" | tr ',' '\n' | sed -n "s/^$AWS_REGION://p" | head -n 1)"
fi
[[ "$ami" == ami-* ]] || { echo "no AMI in $AWS_REGION for arch $ARCH: $entry" >&2; exit 1; }

put() {
  aws ssm put-parameter ${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} --region "$AWS_REGION" \
    --name "$1" --value "$ami" --type String --data-type aws:ec2:image --overwrite >/dev/null
  echo "published $ami to $1"
}
put "$SSM_PARAMETER-$ARCH"
if [ "$ARCH" = "$DEFAULT_ARCH" ]; then put "$SSM_PARAMETER"; fi
