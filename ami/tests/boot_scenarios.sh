# shellcheck shell=bash
# Assertions are single-quoted on purpose (expanded by eval in check); variables are shared
# between the sourced test files.
# shellcheck disable=SC2016,SC2034
# The boot script, rendered like the launch step renders it, run end to end with stubs.

SHA_B=1111111111111111111111111111111111111111
SHA_U=2222222222222222222222222222222222222222
DSPACE=/opt/dspace-preview/src/DSpace
ANGULAR=/opt/dspace-preview/src/dspace-angular
URL="http://$PUBLIC_HOST"
BASE=/var/lib/dspace-preview/compose-base
PASSWORD=Adm1nPassw0rdFromTheLaunchStep
CLI_OPTS="JAVA_OPTS=-Xmx1g -Dfile.encoding=UTF-8"

boot_tests() {
  scenario_backend_pr
  scenario_ui_pr
  scenario_both_prs
  scenario_branch_only
  scenario_merge_conflict
  scenario_merge_failed
  scenario_demo_accounts
  scenario_hostile_compose
  scenario_pull_failure
  scenario_build_failure
  scenario_pr_moved
  scenario_container_crash
  scenario_no_public_hostname
  scenario_bad_config
  scenario_not_an_ami
  scenario_user_data_size
}

scenario_backend_pr() {
  boot backend-pr BACKEND_PR=1234 BACKEND_SHA=$SHA_B STUB_BUILD_SECONDS=1 \
    ENV_OVERRIDES=$'dspace__P__name=Preview of #1234\nwebui__P__browse__P__index__P__1=dateissued:item:dateissued'
  check "backend PR: boot exits 0 in phase ready, no failure recorded on the way" eval \
    'exit_code_is 0 && phase_is ready && [ ! -e "$ROOT/var/lib/dspace-preview/failure" ] &&
     ! grep -q FAILED "$ROOT/var/log/dspace-preview/boot.log"'
  check "backend PR: phases in order" phases_were booting fetching merging building-backend pulling starting \
    creating-admin ready
  check "backend PR: IMDSv2 token, then public hostname with it" eval \
    'called curl -X PUT "X-aws-ec2-metadata-token-ttl-seconds: 300" http://169.254.169.254/latest/api/token &&
     called curl "X-aws-ec2-metadata-token: imds-token" http://169.254.169.254/latest/meta-data/public-hostname'
  check "backend PR: fetches base and pull/1234/head" eval \
    'called git -C "$ROOT$DSPACE" fetch --no-tags origin +refs/heads/main:refs/remotes/origin/main &&
     called git -C "$ROOT$DSPACE" fetch --no-tags origin +refs/pull/1234/head:refs/remotes/origin/pr/1234'
  check "backend PR: merges the requested sha into main" eval \
    'called git -C "$ROOT$DSPACE" checkout -q -f -B preview refs/remotes/origin/main &&
     called git -C "$ROOT$DSPACE" merge --no-edit --no-ff $SHA_B'
  check "backend PR: the UI repository is not touched" not_called git -C "$ROOT$ANGULAR"
  check "backend PR: builds dspace and dspacesolr only" eval \
    'built dspace dspacesolr && ! built dspace-angular'
  check "backend PR: compose files from the base branch (main), never the PR's tree" eval \
    'files_are "$BASE/docker-compose.yml" AMI/files/compose/preview.yml AMI/files/compose/build-backend.yml \
       /var/lib/dspace-preview/overrides.yml &&
     called git -C "$ROOT$DSPACE" show refs/remotes/origin/main:docker-compose.yml &&
     cmp -s "$ROOT$BASE/docker-compose.yml" "$AMI/tests/fixtures/compose/main/docker-compose.yml"'
  check "backend PR: the real rendered model passed the policy before anything was built" eval \
    'jq -e ".services | keys == [\"dspace\",\"dspace-angular\",\"dspace-proxy\",\"dspacedb\",\"dspacesolr\"]" \
       "$ROOT/var/lib/dspace-preview/compose-model.json" >/dev/null &&
     in_order compose config --format json :: compose build dspace dspacesolr'
  check "backend PR: one project, env file, no build at up, proxy not in the first up" called docker compose \
    --project-name preview --project-directory "$ROOT$DSPACE" --env-file "$ROOT/var/lib/dspace-preview/compose.env" \
    up -d --no-build --quiet-pull dspacedb dspacesolr dspace dspace-angular
  check "backend PR: the published UI and the database are pulled while the backend builds" eval \
    'called docker compose pull --quiet dspacedb dspace-angular && in_order compose pull --quiet :: build-done dspace dspacesolr'
  check "backend PR: the database starts (and loads its dump) while the backend builds" \
    in_order compose up -d --no-build --quiet-pull dspacedb :: build-done dspace dspacesolr
  check "backend PR: images (built backend, published main UI)" eval \
    'env_has DSPACE_VER=latest && env_has PREVIEW_DSPACE_IMAGE=dspace-preview/dspace:local &&
     env_has PREVIEW_SOLR_IMAGE=dspace-preview/dspace-solr:local &&
     env_has PREVIEW_UI_IMAGE=docker.io/dspace/dspace-angular:latest-dist'
  check "backend PR: which image each side runs is recorded (built commit, published digest)" eval \
    'jq -e ".backend.built and .backend.image == \"dspace-preview/dspace:local\" and .backend.commit == \"c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff\"
       and (.ui.built | not) and .ui.digest == \"dspace/dspace-angular@sha256:0123\" and .ui.created == \"2026-11-30T01:00:00Z\"" \
       "$ROOT/var/lib/dspace-preview/images.json"'
  check "backend PR: public URLs from IMDS" eval \
    'env_has PREVIEW_UI_URL=$URL && env_has PREVIEW_SERVER_URL=$URL/server &&
     env_has PREVIEW_PUBLIC_HOST=$PUBLIC_HOST && [ "$(state public-host)" = $PUBLIC_HOST ]'
  check "backend PR: ENV_OVERRIDES become the last compose file" eval \
    'grep -qxF "      dspace__P__name: '"'"'Preview of #1234'"'"'" "$ROOT/var/lib/dspace-preview/overrides.yml" &&
     grep -qxF "      webui__P__browse__P__index__P__1: '"'"'dateissued:item:dateissued'"'"'" "$ROOT/var/lib/dspace-preview/overrides.yml"'
  check "backend PR: waits for the REST API on the dspace container (the proxy is not up yet)" \
    called curl http://172.23.0.4:8080/server/api
  check "backend PR: demo accounts disabled, then the admin, then port 80 opens" eval \
    'in_order "UPDATE eperson SET can_log_in = false WHERE email LIKE '"'"'dspacedemo+%'"'"'" :: "SELECT count" \
       :: create-administrator :: compose up -d --no-build --quiet-pull dspace-proxy :: curl "Host: $PUBLIC_HOST"'
  check "backend PR: container logs go to CloudWatch (awslogs, one stream per container)" eval \
    'jq -e ".\"log-driver\" == \"awslogs\" and .\"log-opts\".\"awslogs-group\" == \"/dspace-preview/dspace-preview\"
       and .\"log-opts\".tag == \"dsp-b9876-u1234-202611281930-ab12/{{.Name}}\" and .\"log-opts\".\"awslogs-region\" == \"eu-west-1\"" \
       "$ROOT/etc/docker/daemon.json" && called systemctl restart docker'
  check "backend PR: boot log goes to CloudWatch stream <id>/boot" eval \
    'jq -e ".logs.logs_collected.files.collect_list[0] | .log_stream_name == \"dsp-b9876-u1234-202611281930-ab12/boot\"
       and .log_group_name == \"/dspace-preview/dspace-preview\"" "$ROOT/opt/aws/amazon-cloudwatch-agent/etc/dspace-preview.json" &&
     called amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s'
  check "backend PR: the instance writes no SSM parameter (no aws call at all)" eval '! grep -q "^aws " "$S/calls.log"'
  check "backend PR: the admin gets the launch step's password, with a 1 GB CLI heap" \
    called docker compose exec -T -e "$CLI_OPTS" dspace /dspace/bin/dspace create-administrator \
      -e reviewer@example.org -p "$PASSWORD"
  check "backend PR: the password is not in the boot log" eval \
    '! grep -qF -- "$PASSWORD" "$ROOT/var/log/dspace-preview/boot.log" && ! grep -qF -- "$PASSWORD" "$S/out.log"'
  check "backend PR: no sample content loaded" not_called dspace index-discovery
  health
  check "backend PR: health reports the timeline: every phase with start and end, ready still open" eval \
    'jq -e "([.phases[].phase] | .[0:3] == [\"booting\",\"fetching\",\"merging\"] and .[-3:] == [\"starting\",\"creating-admin\",\"ready\"]
         and (.[3:5] | sort) == [\"building-backend\",\"pulling\"])
       and ([.phases[] | select(.phase != \"ready\") | .end | type] | all(. == \"string\")) and (.phases[-1].end == null)
       and ([.phases[].seconds] | all(. >= 0))" <<<"$HOUT" >/dev/null'
  check "backend PR: one structured phase-timing line per finished phase in the boot log" eval \
    '[ "$(grep -c " phase-timing {" "$ROOT/var/log/dspace-preview/boot.log")" = 7 ] &&
     grep " phase-timing {" "$ROOT/var/log/dspace-preview/boot.log" | sed "s/.* phase-timing //" | jq -e ".seconds >= 0" >/dev/null'
  check "backend PR: health reports the images" eval \
    'jq -e ".images.backend.built and .images.ui.image == \"docker.io/dspace/dspace-angular:latest-dist\"" <<<"$HOUT"'
}

scenario_ui_pr() {
  boot ui-pr UI_PR=567 UI_SHA=$SHA_U BASE_BRANCH=dspace-9_x SAMPLE_CONTENT=aip STUB_PR_HEAD=$SHA_U \
    STUB_BUILD_SECONDS=1
  check "UI PR: boot exits 0 in phase ready, no failure recorded on the way" eval \
    'exit_code_is 0 && phase_is ready && [ ! -e "$ROOT/var/lib/dspace-preview/failure" ]'
  check "UI PR: phases in order (admin before the AIP ingest that runs as admin)" \
    phases_were booting fetching merging pulling starting creating-admin loading-content building-ui ready
  check "UI PR: fetches and merges pull/567 into dspace-9_x" eval \
    'called git -C "$ROOT$ANGULAR" fetch --no-tags origin +refs/pull/567/head:refs/remotes/origin/pr/567 &&
     called git -C "$ROOT$ANGULAR" checkout -q -f -B preview refs/remotes/origin/dspace-9_x &&
     called git -C "$ROOT$ANGULAR" merge --no-edit --no-ff $SHA_U'
  check "UI PR: backend checkout at today's dspace-9_x (fetched, not the AMI's), no merge" eval \
    'called git -C "$ROOT$DSPACE" fetch --no-tags origin +refs/heads/dspace-9_x:refs/remotes/origin/dspace-9_x &&
     called git -C "$ROOT$DSPACE" checkout -q -f -B preview refs/remotes/origin/dspace-9_x &&
     not_called git -C "$ROOT$DSPACE" merge'
  check "UI PR: builds dspace-angular only" eval \
    'built dspace-angular && ! built dspace dspacesolr'
  check "UI PR: compose files of dspace-9_x" eval \
    'files_are "$BASE/docker-compose.yml" AMI/files/compose/preview.yml AMI/files/compose/build-ui.yml \
       /var/lib/dspace-preview/overrides.yml &&
     cmp -s "$ROOT$BASE/docker-compose.yml" "$AMI/tests/fixtures/compose/dspace-9_x/docker-compose.yml"'
  check "UI PR: the published 9_x backend is pulled while the UI builds" eval \
    'called docker compose pull --quiet dspacedb dspace dspacesolr'
  check "UI PR: the published backend starts, gets its admin and content while the UI builds; UI and proxy last" \
    in_order compose up -d --no-build --quiet-pull dspacedb dspacesolr dspace :: create-administrator :: \
      index-discovery :: build-done dspace-angular :: compose up -d --no-build --quiet-pull dspace-angular dspace-proxy
  check "UI PR: images (published 9_x backend, built UI)" eval \
    'env_has DSPACE_VER=dspace-9_x && env_has PREVIEW_DSPACE_IMAGE=docker.io/dspace/dspace:dspace-9_x &&
     env_has PREVIEW_SOLR_IMAGE=docker.io/dspace/dspace-solr:dspace-9_x &&
     env_has PREVIEW_UI_IMAGE=dspace-preview/dspace-angular:local && env_has PREVIEW_UI_SRC=$ROOT$ANGULAR'
  check "UI PR: AIP downloaded, unzipped and copied into the dspace container" eval \
    'called curl -o "$ROOT/var/lib/dspace-preview/tmp/aip.zip" https://github.com/DSpace-Labs/AIP-Files/raw/main/dogAndReport.zip &&
     called unzip -q -o "$ROOT/var/lib/dspace-preview/tmp/aip.zip" && called docker cp "$ROOT/var/lib/dspace-preview/tmp/aip/." dspace:/tmp/aip-dir'
  check "UI PR: AIP ingested as the admin, sequences updated, reindexed" eval \
    'called docker compose exec -T -w /tmp/aip-dir -e "$CLI_OPTS" dspace bash -c "packager -r -a -t AIP" aip reviewer@example.org &&
     called docker compose exec -e "$CLI_OPTS" dspace /dspace/bin/dspace database update-sequences &&
     called docker compose exec -e "$CLI_OPTS" dspace /dspace/bin/dspace index-discovery -b'
}

scenario_both_prs() {
  boot both-prs BACKEND_PR=1234 BACKEND_SHA=$SHA_B UI_PR=567 UI_SHA=$SHA_U BASE_BRANCH=dspace-10_x \
    SAMPLE_CONTENT=entities
  check "both PRs: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "both PRs: phases in order (one build at a time on 2 vCPUs)" phases_were booting fetching merging \
    building-backend pulling starting creating-admin loading-content building-ui ready
  check "both PRs: the UI build starts once the backend's is done" \
    in_order build-done dspace dspacesolr :: compose build dspace-angular
  check "both PRs: both merged into dspace-10_x" eval \
    'called git -C "$ROOT$DSPACE" merge --no-edit --no-ff $SHA_B && called git -C "$ROOT$ANGULAR" merge --no-edit --no-ff $SHA_U &&
     called git -C "$ROOT$ANGULAR" checkout -q -f -B preview refs/remotes/origin/dspace-10_x'
  check "both PRs: both sides built" eval \
    'built dspace dspacesolr && built dspace-angular'
  check "both PRs: compose files of dspace-10_x with its entities database" eval \
    'files_are "$BASE/docker-compose.yml" "$BASE/db.entities.yml" AMI/files/compose/preview.yml \
       AMI/files/compose/build-backend.yml AMI/files/compose/build-ui.yml /var/lib/dspace-preview/overrides.yml &&
     cmp -s "$ROOT$BASE/db.entities.yml" "$AMI/tests/fixtures/compose/dspace-10_x/db.entities.yml"'
  check "both PRs: only the database is pulled (both sides are built)" called docker compose pull --quiet dspacedb
  check "both PRs: images" eval 'env_has DSPACE_VER=dspace-10_x && env_has PREVIEW_DSPACE_IMAGE=dspace-preview/dspace:local &&
     env_has PREVIEW_UI_IMAGE=dspace-preview/dspace-angular:local'
  check "both PRs: entities assetstore unpacked into /dspace, then indexed" eval \
    'called curl https://github.com/DSpace-Labs/AIP-Files/releases/download/demo-entities-data/assetstore.tar.gz &&
     called docker compose exec -T dspace tar xzf - -C /dspace &&
     called docker compose exec -e "$CLI_OPTS" dspace /dspace/bin/dspace index-discovery -b &&
     called docker compose exec -e "$CLI_OPTS" dspace /dspace/bin/dspace oai import'
  check "both PRs: every dspacedemo+* account of the dump is barred before port 80 opens" eval \
    'called docker compose exec -T dspacedb psql -U dspace -d dspace -v ON_ERROR_STOP=1 -q -c \
       "UPDATE eperson SET can_log_in = false WHERE email LIKE '"'"'dspacedemo+%'"'"'" &&
     in_order "UPDATE eperson" :: tar xzf :: compose up dspace-angular dspace-proxy'
}

scenario_branch_only() {
  boot branch-only BACKEND_BRANCH=w2p-123-feature
  check "branch: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "branch: fetches and checks out the branch, merges nothing" eval \
    'called git -C "$ROOT$DSPACE" fetch --no-tags origin +refs/heads/main:refs/remotes/origin/main &&
     called git -C "$ROOT$DSPACE" fetch --no-tags origin +refs/heads/w2p-123-feature:refs/remotes/origin/w2p-123-feature &&
     called git -C "$ROOT$DSPACE" checkout -q -f -B preview refs/remotes/origin/w2p-123-feature &&
     not_called git merge && not_called git fetch pull/'
  check "branch: backend built on main's dependencies image" eval \
    'built dspace dspacesolr && env_has DSPACE_VER=latest'
}

scenario_merge_conflict() {
  boot merge-conflict BACKEND_PR=1234 BACKEND_SHA=$SHA_B UI_PR=567 STUB_GIT_CONFLICT=DSpace
  check "merge conflict: boot exits 1 in phase failed" eval 'exit_code_is 1 && phase_is failed'
  check "merge conflict: the reason names the PR, base and files" eval \
    '[ "$(state failure)" = "merge-conflict: backend PR #1234 does not merge cleanly into main (dspace-api/src/main/java/org/dspace/Foo.java)" ] &&
     [ "$(state failed-phase)" = merging ]'
  check "merge conflict: merge aborted, nothing built or started" eval \
    'called git -C "$ROOT$DSPACE" merge --abort && not_called docker compose build && not_called docker compose up'
  health
  check "merge conflict: health says failed (exit 1) with the reason" eval \
    'health_is failed 1 && health_detail_has "merge-conflict: backend PR #1234" && health_detail_has "(in phase merging)"'
}

scenario_merge_failed() {
  boot merge-failed BACKEND_PR=1234 BACKEND_SHA=$SHA_B STUB_GIT_MERGE_FAIL=DSpace
  check "merge failure other than a conflict: reported as such, with git's words" eval \
    'exit_code_is 1 && [ "$(state failure)" = "merge-failed: backend PR #1234 could not be merged into main: fatal: refusing to merge unrelated histories" ]'
}

scenario_demo_accounts() {
  boot demo-left BACKEND_PR=1234 SAMPLE_CONTENT=entities STUB_DEMO_LEFT=2
  check "demo accounts still able to log in: the preview fails, port 80 never opens" eval \
    'exit_code_is 1 && failure_starts "demo-accounts: 2 dspacedemo+* account(s) can still log in" &&
     [ "$(state failed-phase)" = starting ] && not_called compose up dspace-proxy && not_called create-administrator'
  boot demo-sql BACKEND_PR=1234 STUB_DEMO_RC=1
  check "demo accounts cannot be disabled: the preview fails" eval \
    'exit_code_is 1 && failure_starts "demo-accounts: could not disable" && not_called compose up dspace-proxy'
}

# A base branch whose compose file went bad: an extra host-network service with / bound.
scenario_hostile_compose() {
  local fixtures="$WORK/hostile-fixtures"
  mkdir -p "$fixtures"
  cp -r "$AMI/tests/fixtures/compose/main" "$fixtures/"
  cat >"$WORK/miner.yml" <<'YAML'
  miner:
    image: alpine
    network_mode: host
    volumes:
      - /:/host
YAML
  sed -i "/^services:/r $WORK/miner.yml" "$fixtures/main/docker-compose.yml"
  boot hostile-compose BACKEND_PR=1234 STUB_FIXTURES="$fixtures"
  check "hostile compose model: refused before any build or container" eval \
    'exit_code_is 1 && phase_is failed && failure_starts "compose-refused:" &&
     [ "$(compose_verbs | sort -u)" = config ]'
  check "hostile compose model: the reason names the service and what is wrong" eval \
    'grep -q miner "$ROOT/var/lib/dspace-preview/failure" && grep -q network_mode "$ROOT/var/log/dspace-preview/boot.log"'
  health
  check "hostile compose model: health says failed with the reason" eval \
    'health_is failed 1 && health_detail_has "compose-refused:"'
}

scenario_pull_failure() {
  boot pull-failure UI_PR=567 STUB_PULL_FAIL=1
  check "a failed pull of the published side is not fatal: the AMI's copy runs" eval \
    'exit_code_is 0 && phase_is ready && grep -q "WARNING: pulling the published images failed" "$ROOT/var/log/dspace-preview/boot.log"'
}

scenario_build_failure() {
  boot build-failure UI_PR=567 STUB_BUILD_FAIL=dspace-angular
  check "build failure: boot exits 1 in phase failed" eval 'exit_code_is 1 && phase_is failed'
  check "build failure: reason build-failed for the UI" eval \
    'failure_starts "build-failed: ui image build failed" && [ "$(state failed-phase)" = building-ui ]'
  check "build failure: port 80 never opens" not_called compose up dspace-proxy
  check "build failure: the build output is in the boot log" \
    grep -q 'ERROR: failed to solve' "$ROOT/var/log/dspace-preview/boot.log"
  health
  check "build failure: health says failed (exit 1)" eval 'health_is failed 1 && health_detail_has build-failed'
}

scenario_pr_moved() {
  boot pr-moved BACKEND_PR=1234 BACKEND_SHA=$SHA_B STUB_PR_HEAD=3333333333333333333333333333333333333333
  check "PR moved: the requested sha is fetched and merged" eval \
    'exit_code_is 0 && called git -C "$ROOT$DSPACE" fetch --no-tags origin $SHA_B &&
     called git -C "$ROOT$DSPACE" merge --no-edit --no-ff $SHA_B'
}

scenario_container_crash() {
  boot crash BACKEND_PR=1234 STUB_STATE_dspace="exited 1" STUB_BACKEND_DOWN=1
  check "container crash: boot fails container-exited while waiting" eval \
    'exit_code_is 1 && phase_is failed && failure_starts "container-exited: dspace exited with code 1" &&
     [ "$(state failed-phase)" = starting ]'
  boot timeout BACKEND_PR=1234 STUB_BACKEND_DOWN=1 PREVIEW_BACKEND_WAIT=0
  check "backend never answers: boot fails with timeout" eval 'exit_code_is 1 && failure_starts "timeout: REST API"'
}

scenario_no_public_hostname() {
  boot no-hostname UI_PR=567 STUB_PUBLIC_HOST=
  check "no public hostname: falls back to the public IPv4" eval \
    'exit_code_is 0 && env_has PREVIEW_UI_URL=http://203.0.113.7 && env_has PREVIEW_SERVER_URL=http://203.0.113.7/server'
}

scenario_bad_config() {
  boot bad-config BACKEND_PR=1234 BACKEND_BRANCH=feature
  check "config: PR and branch on one side is refused before any work" eval \
    'exit_code_is 1 && failure_starts "config: both BACKEND_PR and BACKEND_BRANCH" && not_called git'
  boot bad-content SAMPLE_CONTENT=everything
  check "config: unknown SAMPLE_CONTENT refused" failure_starts "config: SAMPLE_CONTENT"
}

scenario_not_an_ami() {
  new_machine not-an-ami
  default_config
  render_boot "$S/user-data.sh"
  env PATH="$S/bin:$PATH" STUB_LOG="$S/calls.log" PREVIEW_HOME="$S/nothing" \
    PREVIEW_STATE_DIR="$ROOT/var/lib/dspace-preview" bash "$S/user-data.sh" >"$S/out.log" 2>&1
  echo $? >"$S/rc"
  check "wrong AMI: boot.sh itself records the failure" eval \
    'exit_code_is 1 && phase_is failed && failure_starts "boot-failed:" && grep -q "not a dspace-preview AMI" "$ROOT/var/lib/dspace-preview/failure"'
  check "config on disk is 0600 and re-sourceable" eval \
    '[ "$(stat -c %a "$ROOT/var/lib/dspace-preview/config.env")" = 600 ] &&
     ( . "$ROOT/var/lib/dspace-preview/config.env" && [ "$PREVIEW_ID" = dsp-b9876-u1234-202611281930-ab12 ] )'
}

scenario_user_data_size() {
  new_machine size
  default_config
  CFG[BACKEND_PR]=12345; CFG[BACKEND_SHA]=$SHA_B; CFG[UI_PR]=4567; CFG[UI_SHA]=$SHA_U
  CFG[ENV_OVERRIDES]="$(for i in $(seq 1 20); do printf 'dspace__P__some__P__setting__P__%02d=some-reasonably-long-value-%02d\n' "$i" "$i"; done)"
  render_boot "$S/user-data.sh"
  check "boot.sh has exactly one config marker line" [ "$(grep -cx '# @PREVIEW_CONFIG@' "$AMI/boot/boot.sh")" = 1 ]
  check "rendered user data (20 overrides) stays under 12 KB" [ "$(wc -c <"$S/user-data.sh")" -le 12288 ]
  check "rendered user data is valid bash" bash -n "$S/user-data.sh"
}
