#!/bin/bash
# dspace-preview user data. The launch step replaces the marker line below with this
# preview's settings (single-quoted shell assignments) and passes the result as EC2 user
# data; cloud-init runs it once, as root, at first boot. The work is done by
# /opt/dspace-preview/bin/preview-boot, installed on the AMI (see ami/README.md); this
# script only hands it the settings, to stay far below the 16 KB user-data limit.
# @PREVIEW_CONFIG@
set -euo pipefail
umask 077

PREVIEW_HOME="${PREVIEW_HOME:-/opt/dspace-preview}"
PREVIEW_STATE_DIR="${PREVIEW_STATE_DIR:-/var/lib/dspace-preview}"
mkdir -p "$PREVIEW_STATE_DIR"

# The settings on disk (0600, root only: they hold the admin password): preview-boot reads
# them, and a person can re-run it.
for var in PREVIEW_ID PREVIEW_STACK AWS_REGION LOG_GROUP PARAMETER_PREFIX BACKEND_REPO UI_REPO \
           BACKEND_PR BACKEND_SHA UI_PR UI_SHA BACKEND_BRANCH UI_BRANCH BASE_BRANCH \
           SAMPLE_CONTENT ADMIN_EMAIL ADMIN_PASSWORD ENV_OVERRIDES REQUESTER BUILD_CACHE_REPO \
           BACKEND_BASE_SHA UI_BASE_SHA BACKEND_CACHE_TAG UI_CACHE_TAG \
           PREVIEW_PUBLIC_NAME PREVIEW_ACME_CA PREVIEW_ACME_EMAIL; do
  printf '%s=%q\n' "$var" "${!var:-}"
done >"$PREVIEW_STATE_DIR/config.env"

if [ ! -x "$PREVIEW_HOME/bin/preview-boot" ]; then
  # Launched from an image that is not a dspace-preview AMI: say so where the health
  # check looks.
  echo "boot-failed: $PREVIEW_HOME/bin/preview-boot missing: not a dspace-preview AMI" \
    >"$PREVIEW_STATE_DIR/failure"
  echo failed >"$PREVIEW_STATE_DIR/phase"
  exit 1
fi
export PREVIEW_HOME PREVIEW_STATE_DIR
exec "$PREVIEW_HOME/bin/preview-boot" "$PREVIEW_STATE_DIR/config.env"
