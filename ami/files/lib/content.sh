# shellcheck shell=bash
# The admin account and the sample content. DSpace commands run inside the running
# `dspace` container, so they use the PR's own code (no separate dspace-cli image).

# Sample data published by DSpace for its Docker setup (the same URLs as upstream's
# cli.assetstore.yml and cli.ingest.yml).
ENTITIES_ASSETSTORE_URL="${ENTITIES_ASSETSTORE_URL:-https://github.com/DSpace-Labs/AIP-Files/releases/download/demo-entities-data/assetstore.tar.gz}"
AIP_ZIP_URL="${AIP_ZIP_URL:-https://github.com/DSpace-Labs/AIP-Files/raw/main/dogAndReport.zip}"
# The entities dump ships this admin with password "dspace": on a public preview it is
# switched off.
DEMO_ADMIN_EMAIL="dspacedemo+admin@gmail.com"

dspace_cli() {
  # A smaller heap than the webapp's: both run at once on an 8 GB instance.
  dc exec -T -e JAVA_TOOL_OPTIONS=-Xmx1g dspace /dspace/bin/dspace "$@"
}

new_password() {
  # 24 characters from [A-Za-z0-9]: above the UI's 8-character minimum, safe in any shell.
  local pw
  pw="$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  printf '%s' "${pw:0:24}"
}

# Keep the password in SSM first: an account nobody can log in to is worse than none.
create_admin() {
  local pw input
  pw="$(new_password)"
  input="$(mktemp "$PREVIEW_STATE_DIR/ssm.XXXXXX")"
  # The password goes through a 0600 file, never on a command line.
  jq -n --arg name "$PARAMETER_PREFIX/admin-password" --arg value "$pw" \
    --arg desc "DSpace admin password of preview $PREVIEW_ID ($ADMIN_EMAIL)" \
    '{Name: $name, Value: $value, Type: "SecureString", Overwrite: true, Description: $desc}' >"$input"
  if ! run aws ssm put-parameter --region "$AWS_REGION" --cli-input-json "file://$input" >/dev/null; then
    rm -f "$input"
    fail boot-failed "cannot store the admin password in SSM"
  fi
  rm -f "$input"
  log "+ dspace create-administrator -e $ADMIN_EMAIL (password in $PARAMETER_PREFIX/admin-password)"
  dc_quiet exec -T dspace /dspace/bin/dspace create-administrator -e "$ADMIN_EMAIL" \
    -f Preview -l Admin -p "$pw" -c en >/dev/null ||
    fail boot-failed "create-administrator failed"
}

load_entities() {
  # The database was loaded at start (db.entities.yml); add its files, then index.
  local tmp="$PREVIEW_STATE_DIR/tmp"
  mkdir -p "$tmp"
  run curl -fsSL --retry 3 -o "$tmp/assetstore.tar.gz" "$ENTITIES_ASSETSTORE_URL" ||
    fail boot-failed "cannot download the entities assetstore"
  dc exec -T dspace tar xzf - -C /dspace <"$tmp/assetstore.tar.gz" ||
    fail boot-failed "cannot unpack the entities assetstore"
  rm -f "$tmp/assetstore.tar.gz"
  if [ "$ADMIN_EMAIL" != "$DEMO_ADMIN_EMAIL" ]; then
    dspace_cli user --modify -m "$DEMO_ADMIN_EMAIL" --canLogIn false ||
      log "WARNING: could not disable the demo admin account"
  fi
  reindex
}

load_aip() {
  # A small community/collection/item set ("Dog in Yard") ingested as the admin.
  local tmp="$PREVIEW_STATE_DIR/tmp"
  rm -rf "$tmp/aip"; mkdir -p "$tmp/aip"
  run curl -fsSL --retry 3 -o "$tmp/aip.zip" "$AIP_ZIP_URL" || fail boot-failed "cannot download the AIP files"
  run unzip -q -o "$tmp/aip.zip" -d "$tmp/aip" || fail boot-failed "cannot unzip the AIP files"
  run docker cp "$tmp/aip/." dspace:/tmp/aip-dir || fail boot-failed "cannot copy the AIP files"
  # shellcheck disable=SC2016 # $1 is expanded by the container's bash
  dc exec -T -w /tmp/aip-dir -e JAVA_TOOL_OPTIONS=-Xmx1g dspace bash -c \
    '/dspace/bin/dspace packager -r -a -t AIP -e "$1" -f -u SITE*.zip' aip "$ADMIN_EMAIL" ||
    fail boot-failed "AIP ingest failed"
  dspace_cli database update-sequences || fail boot-failed "database update-sequences failed"
  reindex
}

reindex() {
  dspace_cli index-discovery -b || fail boot-failed "index-discovery failed"
  dspace_cli oai import || log "WARNING: oai import failed"
}

load_content() {
  case "$SAMPLE_CONTENT" in
    entities) load_entities ;;
    aip) load_aip ;;
    none) log "no sample content" ;;
  esac
}
