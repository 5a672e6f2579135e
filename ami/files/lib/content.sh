# shellcheck shell=bash
# The admin account and the sample content. DSpace commands run in the image of the `dspace`
# service, so they use the PR's own code (no separate dspace-cli image): on a roomy instance
# in one-off containers of that service (`docker compose run --rm --no-deps`) while the webapp
# starts (start_cli_in_background), on a small one inside the running `dspace` container once
# its REST API answers (CLI_MODE=exec).

# Sample data published by DSpace for its Docker setup (the same URLs as upstream's
# cli.assetstore.yml and cli.ingest.yml).
ENTITIES_ASSETSTORE_URL="${ENTITIES_ASSETSTORE_URL:-https://github.com/DSpace-Labs/AIP-Files/releases/download/demo-entities-data/assetstore.tar.gz}"
AIP_ZIP_URL="${AIP_ZIP_URL:-https://github.com/DSpace-Labs/AIP-Files/raw/main/dogAndReport.zip}"
# The AMI's copies of both, under the URL's file name (packer/scripts/warm-caches.sh).
PREVIEW_SAMPLE_DIR="${PREVIEW_SAMPLE_DIR:-${PREVIEW_FS_ROOT:-}/opt/dspace-preview/sample}"
# DSpace's bin/dspace unsets JAVA_TOOL_OPTIONS and reads JAVA_OPTS (the image sets 2 GB):
# CLI runs next to the webapp get 1 GB.
CLI_JAVA_OPTS="-Xmx1g -Dfile.encoding=UTF-8"
# exec: in the running `dspace` container; run: in a one-off container of the service.
CLI_MODE="exec"

# in_dspace [--quiet] [--java] ENTRYPOINT ARG...: ENTRYPOINT ARG... in the dspace service's
# image, stdin passed through. A one-off container gets the service's own volumes (the
# assetstore), network and environment from the checked compose model and nothing else: no
# -v, no ports (run publishes none), no privileges; --entrypoint replaces the service's
# (wait for the database, migrate, start the webapp) with the command. --java: the CLI heap;
# --quiet: the command line is not logged (it carries a secret).
in_dspace() {
  local call=dc env=()
  if [ "$1" = --quiet ]; then call=dc_quiet; shift; fi
  if [ "$1" = --java ]; then env=(-e "JAVA_OPTS=$CLI_JAVA_OPTS"); shift; fi
  if [ "$CLI_MODE" = run ]; then
    "$call" run --rm --no-deps -T "${env[@]}" --entrypoint "$1" dspace "${@:2}"
  else
    "$call" exec -T "${env[@]}" dspace "$@"
  fi
}

dspace_cli() {
  in_dspace --java /dspace/bin/dspace "$@"
}

# The launch step made the password and stored it for the web page; it reaches the instance
# in the user data (config.env, 0600). The instance writes no SSM parameter.
create_admin() {
  log "+ dspace create-administrator -e $ADMIN_EMAIL (password from the launch step, not logged; $CLI_MODE)"
  in_dspace --quiet --java /dspace/bin/dspace create-administrator \
    -e "$ADMIN_EMAIL" -f Preview -l Admin -p "$ADMIN_PASSWORD" -c en >/dev/null ||
    fail boot-failed "create-administrator failed"
}

# sample_file URL: sets SAMPLE_PATH to the AMI's copy of URL's file, or downloads it (an AMI
# built before the copies, or a URL changed since) into the state directory. The copy saves
# the download; the data set is a fixed release, so the copy does not go stale.
sample_file() {
  local name="${1##*/}"
  SAMPLE_PATH="$PREVIEW_SAMPLE_DIR/$name"
  if [ -s "$SAMPLE_PATH" ]; then
    log "sample $name from the AMI ($SAMPLE_PATH)"
    return 0
  fi
  SAMPLE_PATH="$PREVIEW_STATE_DIR/tmp/$name"
  log "sample $name not in the AMI: downloading it"
  mkdir -p "$PREVIEW_STATE_DIR/tmp"
  run curl -fsSL --retry 3 -o "$SAMPLE_PATH" "$1"
}

load_entities() {
  # The database was loaded at start (db.entities.yml); add its files, then index.
  sample_file "$ENTITIES_ASSETSTORE_URL" || fail boot-failed "cannot download the entities assetstore"
  # Into /dspace: the tarball's assetstore/ lands in the assetstore volume, which the
  # webapp's container mounts too.
  in_dspace tar xzf - -C /dspace <"$SAMPLE_PATH" ||
    fail boot-failed "cannot unpack the entities assetstore"
  rm -f "$PREVIEW_STATE_DIR/tmp/${ENTITIES_ASSETSTORE_URL##*/}"
  reindex
}

load_aip() {
  # A small community/collection/item set ("Dog in Yard") ingested as the admin.
  local tmp="$PREVIEW_STATE_DIR/tmp"
  rm -rf "$tmp/aip"; mkdir -p "$tmp/aip"
  sample_file "$AIP_ZIP_URL" || fail boot-failed "cannot download the AIP files"
  run unzip -q -o "$SAMPLE_PATH" -d "$tmp/aip" || fail boot-failed "cannot unzip the AIP files"
  # The files go in as a tar on stdin (a one-off container has no name to `docker cp` to),
  # unpacked where packager reads them, in the container that runs it.
  # shellcheck disable=SC2016 # $1 is expanded by the container's bash
  tar -C "$tmp/aip" -cf - . | in_dspace --java bash -c \
    'mkdir -p /tmp/aip-dir && cd /tmp/aip-dir && tar xf - && exec /dspace/bin/dspace packager -r -a -t AIP -e "$1" -f -u SITE*.zip' \
    aip "$ADMIN_EMAIL" || fail boot-failed "AIP ingest failed"
  dspace_cli database update-sequences || fail boot-failed "database update-sequences failed"
  reindex
}

reindex() {
  dspace_cli index-discovery -b || fail boot-failed "index-discovery failed"
}

# OAI-PMH serves harvesters, not the UI or the REST API a reviewer opens: its import runs once
# the preview is ready, in the background; a failure is only a warning. Its lines go straight
# to the boot log (cloud-init would otherwise wait for it on the boot's output).
oai_import_in_background() {
  [ "$SAMPLE_CONTENT" != none ] || return 0
  log "+ dspace oai import (in the background)"
  (
    trap - ERR; set +e
    CLI_MODE="exec"   # the webapp is up: its own container
    if dspace_cli oai import; then
      log "oai import done"
    else
      log "WARNING: oai import failed: /server/oai has no items (the rest of the preview is unaffected)"
    fi
  ) </dev/null >>"$PREVIEW_LOG_DIR/boot.log" 2>&1 &
}

load_content() {
  case "$SAMPLE_CONTENT" in
    entities) load_entities ;;
    aip) load_aip ;;
    none) log "no sample content" ;;
  esac
}

# The admin and the content in the background while the foreground waits for the REST API
# (the AIP ingest runs as the admin, so it comes after it; the entities content does not
# need it and runs beside it): one-off containers of the dspace service, after
# migrate_database (stack.sh) made the schema current. Each step records its own phase in the
# timeline (creating-admin, loading-content: they overlap `starting`). A failure inside is
# not lost: the job's fail() writes the reason with its phase to cli.failure, then its status
# to cli.rc (both atomically, in that order); check_cli_job in the foreground turns that into
# the boot's own failure, with the same reason a sequential boot would give.
CLI_PID=""
cli_work() {
  if [ "$SAMPLE_CONTENT" = none ]; then printf 'the admin'; else printf 'the admin and the %s content' "$SAMPLE_CONTENT"; fi
}
start_cli_in_background() {
  rm -f "$PREVIEW_STATE_DIR/cli.rc" "$PREVIEW_STATE_DIR/cli.failure"
  log "+ $(cli_work) in one-off dspace containers (in the background, while the REST API starts)"
  (
    fail() {
      trap - ERR
      log "FAILED (in the background) $1: ${*:2}"
      write_atomic "$PREVIEW_STATE_DIR/cli.failure" "$CURRENT_PHASE $1: ${*:2}"
      write_atomic "$PREVIEW_STATE_DIR/cli.rc" 1
      exit 1
    }
    CLI_MODE="run"
    admin_step() { CURRENT_PHASE=creating-admin; timeline_start creating-admin; create_admin; timeline_end creating-admin; }
    content_step() { CURRENT_PHASE=loading-content; timeline_start loading-content; load_content; timeline_end loading-content; }
    case "$SAMPLE_CONTENT" in
      none) admin_step ;;
      # The AIP ingest runs as the admin: one after the other.
      aip) admin_step; content_step ;;
      # Nothing of the entities content needs the admin: both at once (a third JVM).
      *)
        ( admin_step ) &
        admin_pid=$!
        content_step
        if ! wait "$admin_pid"; then
          [ -s "$PREVIEW_STATE_DIR/cli.rc" ] || fail boot-failed "create-administrator ended without a status"
          exit 1
        fi ;;
    esac
    write_atomic "$PREVIEW_STATE_DIR/cli.rc" 0
  ) </dev/null &
  CLI_PID=$!
}

# Fail the boot as soon as the background admin/content job has failed (checked while the
# foreground waits for the REST API, and between its steps).
check_cli_job() {
  [ -n "$CLI_PID" ] || return 0
  local rc what
  rc="$(cat "$PREVIEW_STATE_DIR/cli.rc" 2>/dev/null)" || return 0
  [ "$rc" != 0 ] || return 0
  what="$(cat "$PREVIEW_STATE_DIR/cli.failure" 2>/dev/null)" || what=""
  [ -n "$what" ] || what="creating-admin boot-failed: admin and content job exited $rc"
  # shellcheck disable=SC2034 # CURRENT_PHASE is read by fail() (common.sh)
  CURRENT_PHASE="${what%% *}"
  what="${what#* }"
  fail "${what%%: *}" "${what#*: }"
}

# wait_for_cli_step PHASE: until the background job has finished PHASE (its timeline end).
wait_for_cli_step() {
  while :; do
    check_cli_job
    grep -q "^end $1 " "$PREVIEW_STATE_DIR/timeline" 2>/dev/null && return 0
    if ! kill -0 "$CLI_PID" 2>/dev/null; then
      # Ended: with a status (checked above, or 0: PHASE was not part of it) or without one.
      wait "$CLI_PID" 2>/dev/null || true
      check_cli_job
      [ -s "$PREVIEW_STATE_DIR/cli.rc" ] || fail boot-failed "the admin and content job ended without a status"
      return 0
    fi
    sleep "$PREVIEW_POLL_SECONDS"
  done
}

# All of the job, reaped.
wait_for_cli() {
  [ -n "$CLI_PID" ] || return 0
  wait "$CLI_PID" 2>/dev/null || true
  check_cli_job
  [ -s "$PREVIEW_STATE_DIR/cli.rc" ] || fail boot-failed "the admin and content job ended without a status"
  log "$(cli_work) done"
  CLI_PID=""
}
