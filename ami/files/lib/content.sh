# shellcheck shell=bash
# The admin account and the sample content. DSpace commands run inside the running
# `dspace` container, so they use the PR's own code (no separate dspace-cli image).

# Sample data published by DSpace for its Docker setup (the same URLs as upstream's
# cli.assetstore.yml and cli.ingest.yml).
ENTITIES_ASSETSTORE_URL="${ENTITIES_ASSETSTORE_URL:-https://github.com/DSpace-Labs/AIP-Files/releases/download/demo-entities-data/assetstore.tar.gz}"
AIP_ZIP_URL="${AIP_ZIP_URL:-https://github.com/DSpace-Labs/AIP-Files/raw/main/dogAndReport.zip}"
# DSpace's bin/dspace unsets JAVA_TOOL_OPTIONS and reads JAVA_OPTS (the image sets 2 GB):
# CLI runs next to the webapp on an 8 GB instance get 1 GB.
CLI_JAVA_OPTS="-Xmx1g -Dfile.encoding=UTF-8"

dspace_cli() {
  dc exec -T -e JAVA_OPTS="$CLI_JAVA_OPTS" dspace /dspace/bin/dspace "$@"
}

# The launch step made the password and stored it for the web page; it reaches the instance
# in the user data (config.env, 0600). The instance writes no SSM parameter.
create_admin() {
  log "+ dspace create-administrator -e $ADMIN_EMAIL (password from the launch step, not logged)"
  dc_quiet exec -T -e JAVA_OPTS="$CLI_JAVA_OPTS" dspace /dspace/bin/dspace create-administrator \
    -e "$ADMIN_EMAIL" -f Preview -l Admin -p "$ADMIN_PASSWORD" -c en >/dev/null ||
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
  dc exec -T -w /tmp/aip-dir -e JAVA_OPTS="$CLI_JAVA_OPTS" dspace bash -c \
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
