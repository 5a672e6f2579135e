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

boot_tests() {
  scenario_backend_pr
  scenario_ui_pr
  scenario_both_prs
  scenario_branch_only
  scenario_merge_conflict
  scenario_build_failure
  scenario_pr_moved
  scenario_container_crash
  scenario_no_public_hostname
  scenario_bad_config
  scenario_not_an_ami
  scenario_user_data_size
}

scenario_backend_pr() {
  boot backend-pr BACKEND_PR=1234 BACKEND_SHA=$SHA_B \
    ENV_OVERRIDES=$'dspace__P__name=Preview of #1234\nwebui__P__browse__P__index__P__1=dateissued:item:dateissued'
  check "backend PR: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "backend PR: phases in order" phases_were booting fetching merging building-backend starting creating-admin ready
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
  check "backend PR: compose files" files_are "$DSPACE/docker-compose.yml" AMI/files/compose/preview.yml \
    AMI/files/compose/build-backend.yml /var/lib/dspace-preview/overrides.yml
  check "backend PR: one project, env file, no build at up" called docker compose --project-name preview \
    --project-directory "$ROOT$DSPACE" --env-file "$ROOT/var/lib/dspace-preview/compose.env" up -d --no-build
  check "backend PR: images (built backend, published main UI)" eval \
    'env_has DSPACE_VER=latest && env_has PREVIEW_DSPACE_IMAGE=dspace-preview/dspace:local &&
     env_has PREVIEW_SOLR_IMAGE=dspace-preview/dspace-solr:local &&
     env_has PREVIEW_UI_IMAGE=docker.io/dspace/dspace-angular:latest-dist'
  check "backend PR: public URLs from IMDS" eval \
    'env_has PREVIEW_UI_URL=$URL && env_has PREVIEW_SERVER_URL=$URL/server &&
     env_has PREVIEW_PUBLIC_HOST=$PUBLIC_HOST && [ "$(state public-host)" = $PUBLIC_HOST ]'
  check "backend PR: ENV_OVERRIDES become the last compose file" eval \
    'grep -qxF "      dspace__P__name: '"'"'Preview of #1234'"'"'" "$ROOT/var/lib/dspace-preview/overrides.yml" &&
     grep -qxF "      webui__P__browse__P__index__P__1: '"'"'dateissued:item:dateissued'"'"'" "$ROOT/var/lib/dspace-preview/overrides.yml"'
  check "backend PR: waits for the REST API through the proxy" \
    called curl "Host: $PUBLIC_HOST" http://127.0.0.1/server/api
  check "backend PR: container logs go to CloudWatch (awslogs, one stream per container)" eval \
    'jq -e ".\"log-driver\" == \"awslogs\" and .\"log-opts\".\"awslogs-group\" == \"/dspace-preview/dspace-preview\"
       and .\"log-opts\".tag == \"dsp-b9876-u1234-202611281930-ab12/{{.Name}}\" and .\"log-opts\".\"awslogs-region\" == \"eu-west-1\"" \
       "$ROOT/etc/docker/daemon.json" && called systemctl restart docker'
  check "backend PR: boot log goes to CloudWatch stream <id>/boot" eval \
    'jq -e ".logs.logs_collected.files.collect_list[0] | .log_stream_name == \"dsp-b9876-u1234-202611281930-ab12/boot\"
       and .log_group_name == \"/dspace-preview/dspace-preview\"" "$ROOT/opt/aws/amazon-cloudwatch-agent/etc/dspace-preview.json" &&
     called amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s'
  check "backend PR: admin password stored as SecureString under the preview path" eval \
    'jq -e ".Name == \"/dspace-preview/dspace-preview/previews/dsp-b9876-u1234-202611281930-ab12/admin-password\"
       and .Type == \"SecureString\" and .Overwrite == true and (.Value | length) >= 8" "$S/ssm-input.json" &&
     called aws ssm put-parameter --region eu-west-1 --cli-input-json'
  local pw
  pw="$(jq -r .Value "$S/ssm-input.json" 2>/dev/null)"
  check "backend PR: the admin gets the password kept in SSM" \
    called docker compose exec -T dspace /dspace/bin/dspace create-administrator -e reviewer@example.org -p "$pw"
  check "backend PR: the password is not in the boot log" eval \
    '[ -n "$pw" ] && ! grep -qF -- "$pw" "$ROOT/var/log/dspace-preview/boot.log" && ! grep -qF -- "$pw" "$S/out.log"'
  check "backend PR: no sample content loaded" not_called dspace index-discovery
}

scenario_ui_pr() {
  boot ui-pr UI_PR=567 UI_SHA=$SHA_U BASE_BRANCH=dspace-9_x SAMPLE_CONTENT=aip STUB_PR_HEAD=$SHA_U
  check "UI PR: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "UI PR: phases in order (admin before the AIP ingest that runs as admin)" \
    phases_were booting fetching merging building-ui starting creating-admin loading-content ready
  check "UI PR: fetches and merges pull/567 into dspace-9_x" eval \
    'called git -C "$ROOT$ANGULAR" fetch --no-tags origin +refs/pull/567/head:refs/remotes/origin/pr/567 &&
     called git -C "$ROOT$ANGULAR" checkout -q -f -B preview refs/remotes/origin/dspace-9_x &&
     called git -C "$ROOT$ANGULAR" merge --no-edit --no-ff $SHA_U'
  check "UI PR: backend checkout at the base branch for its compose files, no fetch, no merge" eval \
    'called git -C "$ROOT$DSPACE" checkout -q -f -B preview refs/remotes/origin/dspace-9_x &&
     not_called git -C "$ROOT$DSPACE" fetch && not_called git -C "$ROOT$DSPACE" merge'
  check "UI PR: builds dspace-angular only" eval \
    'built dspace-angular && ! built dspace dspacesolr'
  check "UI PR: compose files" files_are "$DSPACE/docker-compose.yml" AMI/files/compose/preview.yml \
    AMI/files/compose/build-ui.yml /var/lib/dspace-preview/overrides.yml
  check "UI PR: images (published 9_x backend, built UI)" eval \
    'env_has DSPACE_VER=dspace-9_x && env_has PREVIEW_DSPACE_IMAGE=docker.io/dspace/dspace:dspace-9_x &&
     env_has PREVIEW_SOLR_IMAGE=docker.io/dspace/dspace-solr:dspace-9_x &&
     env_has PREVIEW_UI_IMAGE=dspace-preview/dspace-angular:local && env_has PREVIEW_UI_SRC=$ROOT$ANGULAR'
  check "UI PR: AIP downloaded, unzipped and copied into the dspace container" eval \
    'called curl -o "$ROOT/var/lib/dspace-preview/tmp/aip.zip" https://github.com/DSpace-Labs/AIP-Files/raw/main/dogAndReport.zip &&
     called unzip -q -o "$ROOT/var/lib/dspace-preview/tmp/aip.zip" && called docker cp "$ROOT/var/lib/dspace-preview/tmp/aip/." dspace:/tmp/aip-dir'
  check "UI PR: AIP ingested as the admin, sequences updated, reindexed" eval \
    'called docker compose exec -T -w /tmp/aip-dir dspace bash -c "packager -r -a -t AIP" aip reviewer@example.org &&
     called docker compose exec dspace /dspace/bin/dspace database update-sequences &&
     called docker compose exec dspace /dspace/bin/dspace index-discovery -b'
}

scenario_both_prs() {
  boot both-prs BACKEND_PR=1234 BACKEND_SHA=$SHA_B UI_PR=567 UI_SHA=$SHA_U BASE_BRANCH=dspace-10_x \
    SAMPLE_CONTENT=entities
  check "both PRs: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "both PRs: phases in order" phases_were booting fetching merging building-backend building-ui starting \
    creating-admin loading-content ready
  check "both PRs: both merged into dspace-10_x" eval \
    'called git -C "$ROOT$DSPACE" merge --no-edit --no-ff $SHA_B && called git -C "$ROOT$ANGULAR" merge --no-edit --no-ff $SHA_U &&
     called git -C "$ROOT$ANGULAR" checkout -q -f -B preview refs/remotes/origin/dspace-10_x'
  check "both PRs: both sides built" eval \
    'built dspace dspacesolr && built dspace-angular'
  check "both PRs: compose files with the entities database" files_are "$DSPACE/docker-compose.yml" \
    "$DSPACE/dspace/src/main/docker-compose/db.entities.yml" AMI/files/compose/preview.yml \
    AMI/files/compose/build-backend.yml AMI/files/compose/build-ui.yml /var/lib/dspace-preview/overrides.yml
  check "both PRs: images" eval 'env_has DSPACE_VER=dspace-10_x && env_has PREVIEW_DSPACE_IMAGE=dspace-preview/dspace:local &&
     env_has PREVIEW_UI_IMAGE=dspace-preview/dspace-angular:local'
  check "both PRs: entities assetstore unpacked into /dspace, then indexed" eval \
    'called curl https://github.com/DSpace-Labs/AIP-Files/releases/download/demo-entities-data/assetstore.tar.gz &&
     called docker compose exec -T dspace tar xzf - -C /dspace &&
     called docker compose exec dspace /dspace/bin/dspace index-discovery -b &&
     called docker compose exec dspace /dspace/bin/dspace oai import'
  check "both PRs: the dump's demo admin (known password) cannot log in" \
    called docker compose exec dspace /dspace/bin/dspace user --modify -m dspacedemo+admin@gmail.com --canLogIn false
}

scenario_branch_only() {
  boot branch-only BACKEND_BRANCH=w2p-123-feature
  check "branch: boot exits 0 in phase ready" eval 'exit_code_is 0 && phase_is ready'
  check "branch: fetches and checks out the branch, merges nothing" eval \
    'called git -C "$ROOT$DSPACE" fetch --no-tags origin +refs/heads/w2p-123-feature:refs/remotes/origin/w2p-123-feature &&
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

scenario_build_failure() {
  boot build-failure UI_PR=567 STUB_BUILD_FAIL=dspace-angular
  check "build failure: boot exits 1 in phase failed" eval 'exit_code_is 1 && phase_is failed'
  check "build failure: reason build-failed for the UI" eval \
    'failure_starts "build-failed: ui image build failed" && [ "$(state failed-phase)" = building-ui ]'
  check "build failure: stack not started" not_called docker compose up
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
