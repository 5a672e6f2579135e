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
# The build cache: the repository the launch step names, the tip of every base branch as the
# stub's git reports it, a base the launch step pinned, and the tags of the merged commits.
REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com
CACHE_REPO=$REGISTRY/dspace-preview/preview-cache
TIP=c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff
PINNED=4444444444444444444444444444444444444444
TAG_B=backend-$SHA_B-$TIP
ECR_PASSWORD=eyJwYXlsb2FkIjoiU1RVQi1FQ1ItVE9LRU4ifQ

boot_tests() {
  scenario_backend_pr
  scenario_ui_pr
  scenario_both_prs
  scenario_branch_only
  scenario_merge_conflict
  scenario_merge_failed
  scenario_demo_accounts
  scenario_cli_overlap
  scenario_cli_overlap_failure
  scenario_cli_sequential
  scenario_hostile_compose
  scenario_pull_failure
  scenario_build_failure
  scenario_pr_moved
  scenario_solr_changed
  scenario_baked_samples
  scenario_read_ahead
  scenario_cache_miss
  scenario_cache_hit
  scenario_cache_pinned_base
  scenario_cache_ui
  scenario_cache_login_failure
  scenario_cache_push_failure
  scenario_container_crash
  scenario_no_public_hostname
  scenario_bad_config
  scenario_https
  scenario_https_custom_ca
  scenario_https_bad_config
  scenario_not_an_ami
  scenario_user_data_size
}

scenario_backend_pr() {
  boot backend-pr BACKEND_PR=1234 BACKEND_SHA=$SHA_B STUB_BUILD_SECONDS=1 PREVIEW_PARALLEL_CLI=1 \
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
  check "backend PR: builds dspace only (dspace/solr/ unchanged: the published dspace-solr runs)" eval \
    'built dspace && ! built dspace dspacesolr && ! built dspace-angular &&
     called git -C "$ROOT$DSPACE" diff --name-only c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff..HEAD -- dspace/solr/ dspace/src/main/docker/dspace-solr/'
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
    'called docker compose pull --quiet dspacedb dspacesolr dspace-angular && in_order compose pull --quiet :: build-done dspace'
  check "backend PR: the database starts (and loads its dump) while the backend builds" \
    in_order compose up -d --no-build --quiet-pull dspacedb :: build-done dspace
  check "backend PR: images (built backend, published main UI)" eval \
    'env_has DSPACE_VER=latest && env_has PREVIEW_DSPACE_IMAGE=dspace-preview/dspace:local &&
     env_has PREVIEW_SOLR_IMAGE=docker.io/dspace/dspace-solr:latest &&
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
  check "backend PR: demo accounts disabled, then port 80 opens; the admin exists before it does" eval \
    'in_order "UPDATE eperson SET can_log_in = false WHERE email LIKE '"'"'dspacedemo+%'"'"'" :: "SELECT count" \
       :: compose up -d --no-build --quiet-pull dspace-proxy :: curl "Host: $PUBLIC_HOST" &&
     in_order run-done create-administrator :: compose up -d --no-build --quiet-pull dspace-proxy'
  check "backend PR: the schema is migrated once in a one-off dspace container, before the webapp and the admin" eval \
    'in_order compose up -d --no-build --quiet-pull dspacedb dspacesolr :: compose exec -T dspacedb pg_isready -h 127.0.0.1 \
       :: compose run --rm --no-deps -T -e "$CLI_OPTS" --entrypoint /dspace/bin/dspace dspace database migrate \
       :: run-done database migrate :: compose up -d --no-build --quiet-pull dspacedb dspacesolr dspace :: create-administrator &&
     [ "$(grep -c "database migrate" "$S/calls.log")" = 2 ] && not_called database migrate ignored'
  check "backend PR: container logs go to CloudWatch (awslogs, one stream per container)" eval \
    'jq -e ".\"log-driver\" == \"awslogs\" and .\"log-opts\".\"awslogs-group\" == \"/dspace-preview/dspace-preview\"
       and .\"log-opts\".tag == \"dsp-b9876-u1234-202611281930-ab12/{{.Name}}\" and .\"log-opts\".\"awslogs-region\" == \"eu-west-1\"" \
       "$ROOT/etc/docker/daemon.json" && called systemctl restart docker'
  check "backend PR: boot log goes to CloudWatch stream <id>/boot" eval \
    'jq -e ".logs.logs_collected.files.collect_list[0] | .log_stream_name == \"dsp-b9876-u1234-202611281930-ab12/boot\"
       and .log_group_name == \"/dspace-preview/dspace-preview\"" "$ROOT/opt/aws/amazon-cloudwatch-agent/etc/dspace-preview.json" &&
     called amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s'
  check "backend PR: the instance writes no SSM parameter (no aws call at all)" eval '! grep -q "^aws " "$S/calls.log"'
  check "backend PR: the admin gets the launch step's password, with a 1 GB CLI heap, in a one-off dspace container" \
    called docker compose run --rm --no-deps -T -e "$CLI_OPTS" --entrypoint /dspace/bin/dspace dspace create-administrator \
      -e reviewer@example.org -p "$PASSWORD"
  check "backend PR: one-off containers get nothing beyond the checked model (no -v, ports, privileges)" oneoffs_are_plain
  check "backend PR: the password is not in the boot log" eval \
    '! grep -qF -- "$PASSWORD" "$ROOT/var/log/dspace-preview/boot.log" && ! grep -qF -- "$PASSWORD" "$S/out.log"'
  check "backend PR: no sample content loaded" not_called dspace index-discovery
  check "backend PR, no BUILD_CACHE_REPO: cache off: no login, no cache pull, no push; recorded as off" eval \
    'not_called docker login && ! grep -q "^aws " "$S/calls.log" && not_called preview-cache &&
     [ "$(state build-cache.json)" = "{\"backend\":\"off\"}" ] &&
     grep -q "build cache off (no BUILD_CACHE_REPO)" "$ROOT/var/log/dspace-preview/boot.log"'
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
    STUB_BUILD_SECONDS=1 PREVIEW_PARALLEL_CLI=1
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
  check "UI PR: AIP downloaded and unzipped; no docker cp (a one-off container gets the files as a tar on stdin)" eval \
    'called curl -o "$ROOT/var/lib/dspace-preview/tmp/dogAndReport.zip" https://github.com/DSpace-Labs/AIP-Files/raw/main/dogAndReport.zip &&
     called unzip -q -o "$ROOT/var/lib/dspace-preview/tmp/dogAndReport.zip" && not_called docker cp &&
     grep -q "sample dogAndReport.zip not in the AMI: downloading it" "$ROOT/var/log/dspace-preview/boot.log"'
  check "UI PR: AIP unpacked and ingested as the admin in one one-off container, after the admin; sequences updated, reindexed" eval \
    'called docker compose run --rm --no-deps -T -e "$CLI_OPTS" --entrypoint bash dspace -c "tar xf - && exec /dspace/bin/dspace packager -r -a -t AIP" aip reviewer@example.org &&
     in_order run-done create-administrator :: run "packager -r -a -t AIP" &&
     called docker compose run -e "$CLI_OPTS" --entrypoint /dspace/bin/dspace dspace database update-sequences &&
     called docker compose run -e "$CLI_OPTS" --entrypoint /dspace/bin/dspace dspace index-discovery -b && oneoffs_are_plain'
}

scenario_both_prs() {
  boot both-prs BACKEND_PR=1234 BACKEND_SHA=$SHA_B UI_PR=567 UI_SHA=$SHA_U BASE_BRANCH=dspace-10_x \
    SAMPLE_CONTENT=entities PREVIEW_PARALLEL_CLI=1
  check "both PRs: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "both PRs: phases in order (one build at a time, PREVIEW_PARALLEL_BUILDS=0)" phases_were booting fetching merging \
    building-backend pulling starting creating-admin loading-content building-ui ready
  check "both PRs: the UI build starts once the backend's is done" \
    in_order build-done dspace :: compose build dspace-angular
  check "both PRs: both merged into dspace-10_x" eval \
    'called git -C "$ROOT$DSPACE" merge --no-edit --no-ff $SHA_B && called git -C "$ROOT$ANGULAR" merge --no-edit --no-ff $SHA_U &&
     called git -C "$ROOT$ANGULAR" checkout -q -f -B preview refs/remotes/origin/dspace-10_x'
  check "both PRs: both sides built" eval \
    'built dspace && built dspace-angular'
  check "both PRs: compose files of dspace-10_x with its entities database" eval \
    'files_are "$BASE/docker-compose.yml" "$BASE/db.entities.yml" AMI/files/compose/preview.yml \
       AMI/files/compose/build-backend.yml AMI/files/compose/build-ui.yml /var/lib/dspace-preview/overrides.yml &&
     cmp -s "$ROOT$BASE/db.entities.yml" "$AMI/tests/fixtures/compose/dspace-10_x/db.entities.yml"'
  check "both PRs: only the database is pulled (both sides are built)" called docker compose pull --quiet dspacedb
  check "both PRs: images" eval 'env_has DSPACE_VER=dspace-10_x && env_has PREVIEW_DSPACE_IMAGE=dspace-preview/dspace:local &&
     env_has PREVIEW_UI_IMAGE=dspace-preview/dspace-angular:local'
  check "both PRs: entities assetstore (not in this AMI: downloaded) unpacked into /dspace (the assetstore volume), then indexed, in one-off containers" eval \
    'called curl https://github.com/DSpace-Labs/AIP-Files/releases/download/demo-entities-data/assetstore.tar.gz &&
     called docker compose run --rm --no-deps -T --entrypoint tar dspace xzf - -C /dspace &&
     called docker compose run -e "$CLI_OPTS" --entrypoint /dspace/bin/dspace dspace index-discovery -b &&
     in_order run-done xzf :: run --entrypoint /dspace/bin/dspace dspace index-discovery'
  check "both PRs: the entities database is migrated as db.entities.yml says (ignored), before the webapp starts" \
    in_order run --entrypoint /dspace/bin/dspace dspace database migrate ignored :: \
      compose up -d --no-build --quiet-pull dspacedb dspacesolr dspace
  check "both PRs: the OAI import runs after ready, in the background" eval \
    'wait_for_log "oai import done" && log_order "=== phase ready" "dspace oai import (in the background)" "oai import done" &&
     in_order compose up dspace-angular dspace-proxy :: docker compose exec -e "$CLI_OPTS" dspace /dspace/bin/dspace oai import'
  check "both PRs: every dspacedemo+* account of the dump is barred before port 80 opens" eval \
    'called docker compose exec -T dspacedb psql -U dspace -d dspace -v ON_ERROR_STOP=1 -q -c \
       "UPDATE eperson SET can_log_in = false WHERE email LIKE '"'"'dspacedemo+%'"'"'" &&
     in_order "UPDATE eperson" :: compose up dspace-angular dspace-proxy && in_order run-done xzf :: compose up dspace-angular dspace-proxy'
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
    'built dspace && env_has DSPACE_VER=latest &&
     called git -C "$ROOT$DSPACE" diff --name-only refs/remotes/origin/main..HEAD -- dspace/solr/ dspace/src/main/docker/dspace-solr/'
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

# The default instance (roomy): the schema is migrated once in a one-off container, then the
# webapp starts and, beside it, admin and content run in one-off containers of the same
# image. The stub's REST API keeps "starting" until index-discovery was called: a boot that
# waited for REST first would stall (60 s) and log REST before the CLI work.
scenario_cli_overlap() {
  boot cli-overlap BACKEND_PR=1234 SAMPLE_CONTENT=entities AMI_SAMPLES=1 PREVIEW_PARALLEL_CLI=1 \
    STUB_REST_WAITS_FOR=index-discovery
  check "CLI overlap: boot exits 0 in phase ready, no failure" eval \
    'exit_code_is 0 && phase_is ready && [ ! -e "$ROOT/var/lib/dspace-preview/failure" ]'
  check "CLI overlap: the database (dump loaded: TCP up) before the migration; migration before the webapp and the CLI work" eval \
    'in_order compose exec -T dspacedb pg_isready -h 127.0.0.1 :: run --entrypoint /dspace/bin/dspace dspace database migrate ignored \
       :: run-done database migrate ignored :: compose up -d --no-build --quiet-pull dspacedb dspacesolr dspace \
       :: create-administrator && in_order run-done database migrate ignored :: xzf :: index-discovery &&
     log_order "PostgreSQL accepts connections" "database migrated" "up -d --no-build --quiet-pull dspacedb dspacesolr dspace"'
  check "CLI overlap: admin, assetstore and index-discovery run in one-off dspace containers while the REST API is still starting" eval \
    'log_order "+ dspace create-administrator" "index-discovery -b" "REST API answers" &&
     called docker compose run --rm --no-deps -T -e "$CLI_OPTS" --entrypoint /dspace/bin/dspace dspace create-administrator &&
     called docker compose run --rm --no-deps -T --entrypoint tar dspace xzf - -C /dspace &&
     not_called compose exec dspace /dspace/bin/dspace create-administrator && not_called compose exec dspace tar &&
     not_called compose exec dspace index-discovery && oneoffs_are_plain'
  check "CLI overlap: the assetstore is unpacked before the index is built" \
    in_order run-done xzf :: run --entrypoint /dspace/bin/dspace dspace index-discovery
  check "CLI overlap: port 80 opens only after the REST API and all of the CLI work" eval \
    'in_order run-done index-discovery :: compose up -d --no-build --quiet-pull dspace-proxy &&
     log_order "REST API answers" "the admin and the entities content done" "up -d --no-build --quiet-pull dspace-proxy"'
  check "CLI overlap: the timeline has creating-admin and loading-content starting inside starting" eval \
    'timeline_order "start starting" "start creating-admin" "end starting" &&
     timeline_order "start starting" "start loading-content" "end starting"'
  check "CLI overlap: the boot log still walks the phases in order" phases_were booting fetching merging \
    building-backend pulling starting creating-admin loading-content ready
  health
  check "CLI overlap: health's phases show admin and content starting before starting ends" eval \
    'jq -e "(.phases | map({(.phase): .}) | add) as \$p
       | \$p[\"creating-admin\"].start <= \$p.starting.end and \$p[\"loading-content\"].start <= \$p.starting.end
         and \$p[\"loading-content\"].end != null" <<<"$HOUT" >/dev/null'

  # The REST API answers at once; each one-off container takes a second: the proxy waits.
  boot cli-slow BACKEND_PR=1234 SAMPLE_CONTENT=entities AMI_SAMPLES=1 PREVIEW_PARALLEL_CLI=1 STUB_RUN_SECONDS=1
  check "CLI overlap, slow CLI: REST answers first, the boot waits for the CLI work, then opens port 80" eval \
    'exit_code_is 0 && phase_is ready && log_order "REST API answers" "=== phase creating-admin" "=== phase loading-content" &&
     in_order run-done create-administrator :: compose up -d --no-build --quiet-pull dspace-proxy &&
     in_order run-done xzf :: run-done index-discovery :: compose up -d --no-build --quiet-pull dspace-proxy'
}

# A failure in the background branch fails the boot with the reason a sequential boot gives.
scenario_cli_overlap_failure() {
  boot cli-admin-fails BACKEND_PR=1234 SAMPLE_CONTENT=entities PREVIEW_PARALLEL_CLI=1 STUB_CLI_FAIL=create-administrator
  check "CLI overlap, create-administrator fails: the boot fails with its reason, in creating-admin" eval \
    'exit_code_is 1 && phase_is failed && [ "$(state failure)" = "boot-failed: create-administrator failed" ] &&
     [ "$(state failed-phase)" = creating-admin ]'
  check "CLI overlap, create-administrator fails beside a content load that succeeds: still failed, port 80 never opens" eval \
    'for _ in $(seq 100); do called run-done index-discovery && break; sleep 0.1; done &&
     called run-done index-discovery && sleep 0.2 && [ "$(state cli.rc)" = 1 ] && not_called compose up dspace-proxy'
  health
  check "CLI overlap, create-administrator fails: health says failed with the reason and phase" eval \
    'health_is failed 1 && health_detail_has "boot-failed: create-administrator failed (in phase creating-admin)"'
  boot cli-admin-fails-aip BACKEND_PR=1234 SAMPLE_CONTENT=aip PREVIEW_PARALLEL_CLI=1 STUB_CLI_FAIL=create-administrator
  check "CLI overlap, AIP content, create-administrator fails: same reason, no ingest, port 80 never opens" eval \
    'exit_code_is 1 && [ "$(state failure)" = "boot-failed: create-administrator failed" ] &&
     [ "$(state failed-phase)" = creating-admin ] && not_called packager && not_called compose up dspace-proxy'
  # The REST API never answers: the failure is seen while waiting, not after 60 s.
  boot cli-fails-early BACKEND_PR=1234 SAMPLE_CONTENT=entities PREVIEW_PARALLEL_CLI=1 STUB_CLI_FAIL=index-discovery \
    STUB_BACKEND_DOWN=1 PREVIEW_BACKEND_WAIT=60
  check "CLI overlap, index-discovery fails while REST is still starting: the boot fails at once with that reason" eval \
    'exit_code_is 1 && [ "$(state failure)" = "boot-failed: index-discovery failed" ] &&
     [ "$(state failed-phase)" = loading-content ] && not_called compose up dspace-proxy'
  boot cli-migrate-fails BACKEND_PR=1234 PREVIEW_PARALLEL_CLI=1 STUB_CLI_FAIL="database migrate"
  check "CLI overlap, the migration fails: the boot fails in starting; neither webapp nor CLI work starts" eval \
    'exit_code_is 1 && [ "$(state failure)" = "boot-failed: dspace database migrate failed" ] &&
     [ "$(state failed-phase)" = starting ] && not_called create-administrator &&
     not_called compose up -d --no-build --quiet-pull dspacedb dspacesolr dspace dspace-angular'
}

# A small instance (< 4 vCPUs or < 15 GB), or a base branch whose dspace service does not
# migrate as expected: the old order, inside the running container once REST answers.
scenario_cli_sequential() {
  boot cli-small BACKEND_PR=1234 SAMPLE_CONTENT=aip AMI_SAMPLES=1 PREVIEW_PARALLEL_CLI=0
  check "small instance: no one-off containers; the webapp migrates itself; admin and content after REST, in the dspace container" eval \
    'exit_code_is 0 && phase_is ready && ! grep -q "^docker compose .* run " "$S/calls.log" &&
     grep -q "a small instance: one JVM at a time" "$ROOT/var/log/dspace-preview/boot.log" &&
     log_order "REST API answers" "+ dspace create-administrator" &&
     in_order "SELECT count" :: compose exec -T -e "$CLI_OPTS" dspace /dspace/bin/dspace create-administrator \
       :: compose exec -T -e "$CLI_OPTS" dspace bash -c "packager -r -a -t AIP" :: compose up -d --no-build --quiet-pull dspace-proxy'
  check "small instance: phases one after the other in the timeline" \
    timeline_order "end starting" "start creating-admin" "end creating-admin" "start loading-content" "end loading-content"
  local fixtures="$WORK/no-migrate-fixtures"
  mkdir -p "$fixtures"
  cp -r "$AMI/tests/fixtures/compose/main" "$fixtures/"
  sed -i '/database migrate/d' "$fixtures/main/docker-compose.yml"
  boot cli-no-migrate BACKEND_PR=1234 PREVIEW_PARALLEL_CLI=1 STUB_FIXTURES="$fixtures"
  check "roomy instance, dspace service without a migrate line: the sequential order, no one-off containers" eval \
    'exit_code_is 0 && phase_is ready && ! grep -q "^docker compose .* run " "$S/calls.log" &&
     grep -q "has no '"'"'/dspace/bin/dspace database migrate'"'"' line" "$ROOT/var/log/dspace-preview/boot.log" &&
     called compose exec -T -e "$CLI_OPTS" dspace /dspace/bin/dspace create-administrator'
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

scenario_solr_changed() {
  boot solr-changed BACKEND_PR=1234 BACKEND_SHA=$SHA_B \
    STUB_CHANGED_FILES="dspace/solr/search/conf/schema.xml dspace-api/src/main/java/Foo.java"
  check "PR touching dspace/solr/: dspace-solr is built too, not pulled" eval \
    'exit_code_is 0 && phase_is ready && built dspace dspacesolr &&
     env_has PREVIEW_SOLR_IMAGE=dspace-preview/dspace-solr:local &&
     called docker compose pull --quiet dspacedb dspace-angular && not_called compose pull --quiet dspacedb dspacesolr'
}

# A miss: log in, the pull of the tag fails, build, push that exact tag once built, in the
# background (the stub's push waits until the boot is ready: a boot waiting for it would stall).
scenario_cache_miss() {
  boot cache-miss BACKEND_PR=1234 BACKEND_SHA=$SHA_B BUILD_CACHE_REPO=$CACHE_REPO \
    BACKEND_CACHE_TAG=backend-$SHA_B-$PINNED STUB_PUSH_WAITS_FOR=ready
  check "cache miss: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "cache miss: one login to the registry, the password from the instance role on stdin" eval \
    'called aws ecr get-login-password --region eu-west-1 &&
     called docker login --username AWS --password-stdin $REGISTRY &&
     [ "$(grep -c "^docker login" "$S/calls.log")" = 1 ] && [ "$(cat "$S/docker-login.stdin")" = "$ECR_PASSWORD" ]'
  check "cache miss: the registry password is in no log and no command line" eval \
    '! grep -qF -- "$ECR_PASSWORD" "$ROOT/var/log/dspace-preview/boot.log" &&
     ! grep -qF -- "$ECR_PASSWORD" "$S/out.log" && ! grep -qF -- "$ECR_PASSWORD" "$S/calls.log"'
  check "cache miss: the credentials live in the boot's own 0700 directory, not root's ~/.docker" eval \
    '[ "$(cat "$S/docker-login.config")" = "$ROOT/var/lib/dspace-preview/registry" ] &&
     [ "$(stat -c %a "$ROOT/var/lib/dspace-preview/registry")" = 700 ]'
  check "cache miss: pulls backend-<head>-<base> after the merge, then builds dspace" eval \
    'in_order git merge --no-edit --no-ff $SHA_B :: docker pull --quiet "$CACHE_REPO:$TAG_B" :: build-done &&
     built dspace && grep -qF "build cache miss for backend: $CACHE_REPO:$TAG_B" "$ROOT/var/log/dspace-preview/boot.log"'
  check "cache miss: the launch step's differing tag is logged as a warning, ours is used" eval \
    'grep -qF "WARNING: build cache tag of the launch step (backend-$SHA_B-$PINNED) differs from this checkout'"'"'s ($TAG_B)" \
       "$ROOT/var/log/dspace-preview/boot.log" && not_called docker pull "$PINNED"'
  check "cache miss: build-cache.json says miss" [ "$(state build-cache.json)" = '{"backend":"miss"}' ]
  check "cache miss: the built image is pushed under exactly that tag, after the build" eval \
    'wait_for_log "build cache: pushed backend as $CACHE_REPO:$TAG_B" &&
     in_order build-done dspace :: docker tag dspace-preview/dspace:local "$CACHE_REPO:$TAG_B" :: docker push --quiet "$CACHE_REPO:$TAG_B" &&
     [ "$(grep -c "^docker push" "$S/calls.log")" = 1 ]'
  check "cache miss: the push does not hold up the preview: ready comes first" \
    log_order "=== phase ready" "build cache: pushed backend"
  health
  check "cache miss: health reports build_cache" eval 'jq -e ".build_cache == {\"backend\":\"miss\"}" <<<"$HOUT"'
}

scenario_cache_hit() {
  boot cache-hit BACKEND_PR=1234 BACKEND_SHA=$SHA_B BUILD_CACHE_REPO=$CACHE_REPO BACKEND_CACHE_TAG=$TAG_B \
    SAMPLE_CONTENT=entities STUB_CACHE_HIT=1
  check "cache hit: boot exits 0 in phase ready, no failure" eval \
    'exit_code_is 0 && phase_is ready && [ ! -e "$ROOT/var/lib/dspace-preview/failure" ]'
  check "cache hit: pulls the tag and names it as compose runs it" eval \
    'called docker pull --quiet "$CACHE_REPO:$TAG_B" &&
     in_order docker pull --quiet "$CACHE_REPO:$TAG_B" :: docker tag "$CACHE_REPO:$TAG_B" dspace-preview/dspace:local :: \
       compose up -d --no-build --quiet-pull dspacedb dspacesolr dspace'
  check "cache hit: nothing is built, nothing pushed" eval 'nothing_built && ! grep -q "^docker push" "$S/calls.log"'
  check "cache hit: logged, and build-cache.json says hit" eval \
    'grep -qF "build cache hit for backend: $CACHE_REPO:$TAG_B" "$ROOT/var/log/dspace-preview/boot.log" &&
     grep -qF "launch step found backend image $TAG_B" "$ROOT/var/log/dspace-preview/boot.log" &&
     ! grep -q "WARNING" "$ROOT/var/log/dspace-preview/boot.log" && [ "$(state build-cache.json)" = "{\"backend\":\"hit\"}" ]'
  check "cache hit: the timeline keeps building-backend (the pull) before starting" phases_were booting fetching \
    merging building-backend pulling starting creating-admin loading-content ready
  check "cache hit: the running image is recorded as built from the merged commits" eval \
    'jq -e ".backend.built and .backend.image == \"dspace-preview/dspace:local\"" "$ROOT/var/lib/dspace-preview/images.json"'
}

# The launch step found a build of this head merged into an older base: that base is fetched
# by id and merged into, so the tag (and the image) is the one found.
scenario_cache_pinned_base() {
  boot cache-pinned BACKEND_PR=1234 BACKEND_SHA=$SHA_B BACKEND_BASE_SHA=$PINNED BUILD_CACHE_REPO=$CACHE_REPO \
    BACKEND_CACHE_TAG=backend-$SHA_B-$PINNED STUB_CACHE_HIT=1 STUB_CHANGED_FILES=dspace/src/main/docker/dspace-solr/Dockerfile
  check "pinned base: fetched by id, checked out, the PR merged into it" eval \
    'exit_code_is 0 && phase_is ready && called git -C "$ROOT$DSPACE" fetch --no-tags origin $PINNED &&
     in_order git checkout -q -f -B preview $PINNED :: git merge --no-edit --no-ff $SHA_B &&
     not_called git checkout -q -f -B preview refs/remotes/origin/main'
  check "pinned base: the tag names it; no mismatch warning" eval \
    'called docker pull --quiet "$CACHE_REPO:backend-$SHA_B-$PINNED" && ! grep -q WARNING "$ROOT/var/log/dspace-preview/boot.log"'
  check "pinned base, hit, PR changing the dspace-solr Dockerfile: only dspace-solr is built (compared with the pinned base)" eval \
    'built dspacesolr && called git -C "$ROOT$DSPACE" diff --name-only $PINNED..HEAD -- dspace/solr/ dspace/src/main/docker/dspace-solr/'
  boot cache-pinned-gone BACKEND_PR=1234 BACKEND_SHA=$SHA_B BACKEND_BASE_SHA=$PINNED BUILD_CACHE_REPO=$CACHE_REPO \
    STUB_GIT_MISSING=$PINNED
  check "pinned base that cannot be fetched: fetch-failed, saying which commit and why" eval \
    'exit_code_is 1 && [ "$(state failed-phase)" = fetching ] &&
     failure_starts "fetch-failed: backend base commit $PINNED (pinned by the launch step for the build cache) is not available"'
}

# Both PRs, the UI found in the cache, the backend not: one login; per side its own outcome.
scenario_cache_ui() {
  boot cache-ui BACKEND_PR=1234 BACKEND_SHA=$SHA_B UI_PR=567 UI_SHA=$SHA_U BUILD_CACHE_REPO=$CACHE_REPO \
    STUB_CACHE_HIT=ui-
  check "cache, both PRs, UI hit and backend miss: ready; UI pulled and tagged, not built; backend built and pushed" eval \
    'exit_code_is 0 && phase_is ready && [ "$(grep -c "^docker login" "$S/calls.log")" = 1 ] &&
     called docker tag "$CACHE_REPO:ui-$SHA_U-$TIP" dspace-preview/dspace-angular:local && ! built dspace-angular &&
     built dspace && wait_for_log "build cache: pushed backend" && not_called docker push "$CACHE_REPO:ui-"'
  check "cache, both PRs: build-cache.json has each side's outcome" \
    jq -e '. == {"backend":"miss","ui":"hit"}' "$ROOT/var/lib/dspace-preview/build-cache.json"
}

scenario_cache_login_failure() {
  boot cache-login-fail BACKEND_PR=1234 BACKEND_SHA=$SHA_B BUILD_CACHE_REPO=$CACHE_REPO STUB_AWS_RC=255
  check "cache login failure: a warning, the boot builds as without a cache and ends ready" eval \
    'exit_code_is 0 && phase_is ready && built dspace &&
     grep -q "WARNING: build cache login to $REGISTRY failed" "$ROOT/var/log/dspace-preview/boot.log"'
  check "cache login failure: no cache pull, no push; recorded as off" eval \
    '! grep -q "^docker pull\|^docker push" "$S/calls.log" && [ "$(state build-cache.json)" = "{\"backend\":\"off\"}" ]'
}

scenario_cache_push_failure() {
  boot cache-push-fail BACKEND_PR=1234 BACKEND_SHA=$SHA_B BUILD_CACHE_REPO=$CACHE_REPO STUB_PUSH_FAIL=1
  check "cache push failure (tag exists, immutable repository): a warning only, the preview is ready" eval \
    'exit_code_is 0 && phase_is ready && [ ! -e "$ROOT/var/lib/dspace-preview/failure" ] &&
     wait_for_log "WARNING: build cache push of backend failed" &&
     grep -q "cannot be overwritten because the repository is immutable" "$ROOT/var/log/dspace-preview/boot.log"'
}

# The read-ahead of the lazily restored volume: started in booting, never waited for (the stub
# holds it until the boot is ready: a boot that waited for it would stall).
scenario_read_ahead() {
  boot read-ahead BACKEND_PR=1234 STUB_IONICE_WAITS_FOR=ready
  local layers="$ROOT/var/lib/docker/overlay2"
  check "read-ahead: started in booting, before the fetches, and the boot gets to ready without it" eval \
    'exit_code_is 0 && phase_is ready && log_order "+ reading ahead the clones and the :latest images" "=== phase fetching" &&
     wait_for_log "read-ahead done" && log_order "=== phase ready" "read-ahead done (6 directories)"'
  check "read-ahead: the clones and the layers of the base branch images only, at idle I/O and CPU priority" eval \
    'called ionice -c3 nice -n 19 find "$ROOT$DSPACE" "$ROOT$ANGULAR" "$layers/dspacedspaceangularlatestdist-upper/diff" \
       "$layers/dspacedspacelatest-lower/diff" -xdev -type f -print0 &&
     called ionice -c3 nice -n 19 xargs -0 -r cat &&
     called docker image inspect dspace/dspace-angular:latest-dist && not_called docker image inspect dspace/dspace:dspace-9_x &&
     not_called docker image inspect node:18-alpine'
}

# The AMI holds the sample files (warm-caches.sh): read from disk, no download. A failed OAI
# import (after ready) is a warning.
scenario_baked_samples() {
  boot baked-entities BACKEND_PR=1234 SAMPLE_CONTENT=entities AMI_SAMPLES=1 STUB_OAI_FAIL=1
  check "sample data in the AMI: the assetstore is unpacked from it, not downloaded" eval \
    'exit_code_is 0 && phase_is ready && called docker compose exec -T dspace tar xzf - -C /dspace &&
     ! grep -q "^curl .*assetstore" "$S/calls.log" &&
     grep -qF "sample assetstore.tar.gz from the AMI ($ROOT/opt/dspace-preview/sample/assetstore.tar.gz)" "$ROOT/var/log/dspace-preview/boot.log" &&
     [ -e "$ROOT/opt/dspace-preview/sample/assetstore.tar.gz" ]'
  check "a failed OAI import is a warning after ready, not a failure" eval \
    'wait_for_log "WARNING: oai import failed" && log_order "=== phase ready" "WARNING: oai import failed" &&
     [ ! -e "$ROOT/var/lib/dspace-preview/failure" ] && phase_is ready'
  boot baked-aip UI_PR=567 SAMPLE_CONTENT=aip AMI_SAMPLES=1
  check "sample data in the AMI: the AIP files are unzipped from it, not downloaded" eval \
    'exit_code_is 0 && ! grep -q "^curl .*dogAndReport" "$S/calls.log" &&
     called unzip -q -o "$ROOT/opt/dspace-preview/sample/dogAndReport.zip" -d "$ROOT/var/lib/dspace-preview/tmp/aip"'
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
  boot bad-base BACKEND_PR=1234 BACKEND_BASE_SHA=main
  check "config: a pinned base that is not a 40-hex commit id is refused" eval \
    'exit_code_is 1 && failure_starts "config: BACKEND_BASE_SHA '"'"'main'"'"' is not a 40-hex commit id" && not_called git'
  boot bad-repo BACKEND_PR=1234 BUILD_CACHE_REPO='preview-cache; rm -rf /'
  check "config: a BUILD_CACHE_REPO that is not a repository URI is refused" eval \
    'exit_code_is 1 && failure_starts "config: BUILD_CACHE_REPO" && not_called git'
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

# HTTPS mode: the launch step named the preview (issue 15). Caddy in front on 80/443 with the
# instance's Caddyfile (the template's real behaviour is ami/tests/https_proxy.sh's), nginx
# behind it on loopback, every DSpace URL https://<name>.
HTTPS_HOST=b9876-u4415.previews.example.org
scenario_https() {
  boot https UI_PR=567 PREVIEW_PUBLIC_NAME=$HTTPS_HOST
  local model="$ROOT/var/lib/dspace-preview/compose-model.json" caddyfile="$ROOT/etc/caddy/Caddyfile"
  check "https: boot exits 0 in phase ready; the name is in the config on disk" eval \
    'exit_code_is 0 && phase_is ready &&
     ( . "$ROOT/var/lib/dspace-preview/config.env" && [ "$PREVIEW_PUBLIC_NAME" = $HTTPS_HOST ] )'
  check "https: DSpace's URLs are https://<name> (compose env, public-host, public-url)" eval \
    'env_has PREVIEW_UI_URL=https://$HTTPS_HOST && env_has PREVIEW_SERVER_URL=https://$HTTPS_HOST/server &&
     env_has PREVIEW_PUBLIC_HOST=$HTTPS_HOST && [ "$(state public-host)" = $HTTPS_HOST ] &&
     [ "$(state public-url)" = https://$HTTPS_HOST ]'
  check "https: compose/https.yml follows preview.yml" eval \
    'files_are "$BASE/docker-compose.yml" AMI/files/compose/preview.yml AMI/files/compose/https.yml \
       AMI/files/compose/build-ui.yml /var/lib/dspace-preview/overrides.yml'
  check "https: the rendered model: backend and UI settings use https://<name> on 443" eval \
    'jq -e --arg n $HTTPS_HOST ".services.dspace.environment as \$d | .services[\"dspace-angular\"].environment as \$u
       | \$d.dspace__P__server__P__url == \"https://\(\$n)/server\" and \$d.dspace__P__ui__P__url == \"https://\(\$n)\"
       and \$u.DSPACE_UI_BASEURL == \"https://\(\$n)\" and \$u.DSPACE_REST_SSL == \"true\" and \$u.DSPACE_REST_PORT == \"443\"
       and \$u.DSPACE_REST_HOST == \$n and \$u.DSPACE_REST_NAMESPACE == \"/server\"
       and \$u.DSPACE_UI_SSL == \"false\" and \$u.DSPACE_UI_PORT == \"4000\"" "$model" >/dev/null'
  check "https: nginx publishes only 127.0.0.1:8081 with its https config; nothing else is published" eval \
    'jq -e "[.services[] | (.ports // [])[]] == [{\"mode\":\"ingress\",\"host_ip\":\"127.0.0.1\",\"target\":80,\"published\":\"8081\",\"protocol\":\"tcp\"}]
       and (.services[\"dspace-proxy\"].volumes[0].source | endswith(\"/compose/nginx-https.conf\"))" "$model" >/dev/null ||
     jq -c "[.services[] | (.ports // [])[]]" "$model"'
  check "https: the Caddyfile is rendered for the name (Let's Encrypt, 80/443, both paths to nginx on loopback)" eval \
    'grep -qx "$HTTPS_HOST {" "$caddyfile" && grep -qxF "	acme_ca https://acme-v02.api.letsencrypt.org/directory" "$caddyfile" &&
     grep -qxF "	http_port 80" "$caddyfile" && grep -qxF "	https_port 443" "$caddyfile" &&
     [ "$(grep -c "reverse_proxy 127.0.0.1:8081 {" "$caddyfile")" = 2 ] &&
     ! grep -qE "acme_ca_root|email|@[A-Z_]+@" "$caddyfile" && [ "$(stat -c %a "$caddyfile")" = 644 ]'
  check "https: no secret in the Caddyfile" eval '! grep -qF -- "$PASSWORD" "$caddyfile"'
  check "https: demo accounts barred, nginx up and answering on loopback, then Caddy starts" \
    in_order "SELECT count" :: compose up -d --no-build --quiet-pull dspace-angular dspace-proxy \
      :: curl "Host: $HTTPS_HOST" http://127.0.0.1:8081/server/api :: systemctl restart dspace-preview-caddy.service
  check "https: the log gives the https URL" grep -qF "preview ready: https://$HTTPS_HOST/ (REST https://$HTTPS_HOST/server)" \
    "$ROOT/var/log/dspace-preview/boot.log"

  boot http-unchanged UI_PR=567
  check "no name: plain HTTP as before (no https.yml, no Caddyfile, no Caddy, http URLs)" eval \
    'exit_code_is 0 && env_has PREVIEW_UI_URL=$URL && [ "$(state public-url)" = $URL ] &&
     not_called https.yml && [ ! -e "$ROOT/etc/caddy" ] && not_called dspace-preview-caddy &&
     called curl "Host: $PUBLIC_HOST" http://127.0.0.1/server/api &&
     jq -e "[.services[] | (.ports // [])[] | .published] == [\"80\"]" "$ROOT/var/lib/dspace-preview/compose-model.json" >/dev/null'
}

scenario_https_custom_ca() {
  boot https-ca BACKEND_PR=1234 PREVIEW_PUBLIC_NAME=$HTTPS_HOST \
    PREVIEW_ACME_CA=https://acme-staging-v02.api.letsencrypt.org/directory PREVIEW_ACME_EMAIL=previews@example.org
  check "https: PREVIEW_ACME_CA and PREVIEW_ACME_EMAIL reach the Caddyfile" eval \
    'exit_code_is 0 &&
     grep -qxF "	acme_ca https://acme-staging-v02.api.letsencrypt.org/directory" "$ROOT/etc/caddy/Caddyfile" &&
     grep -qxF "	email previews@example.org" "$ROOT/etc/caddy/Caddyfile"'
}

scenario_https_bad_config() {
  boot https-bad-name UI_PR=567 PREVIEW_PUBLIC_NAME='evil.example.org {'
  check "https config: a name that is not a DNS name is refused before any work" eval \
    'exit_code_is 1 && failure_starts "config: PREVIEW_PUBLIC_NAME" && not_called git'
  boot https-bad-ca UI_PR=567 PREVIEW_PUBLIC_NAME=$HTTPS_HOST PREVIEW_ACME_CA=http://acme.example.org/dir
  check "https config: an ACME directory that is not https is refused" eval \
    'exit_code_is 1 && failure_starts "config: PREVIEW_ACME_CA" && not_called git'
  boot https-bad-mail UI_PR=567 PREVIEW_PUBLIC_NAME=$HTTPS_HOST PREVIEW_ACME_EMAIL='a@b.org } admin'
  check "https config: a contact that is not a mail address is refused" eval \
    'exit_code_is 1 && failure_starts "config: PREVIEW_ACME_EMAIL" && not_called git'
}
