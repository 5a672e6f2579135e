# shellcheck shell=bash
# Assertions are single-quoted on purpose (expanded by eval in check); variables are shared
# between the sourced test files.
# shellcheck disable=SC2016,SC2034
# Static checks: shellcheck, the compose layer's published ports, the proxy, Packer.

static_tests() {
  local f
  if command -v shellcheck >/dev/null; then
    while IFS= read -r f; do
      check "shellcheck ${f#"$AMI"/}" shellcheck -x -P SCRIPTDIR "$f"
    done < <(shell_scripts)
  else
    echo "# SKIP shellcheck: not installed (apt-get install -y shellcheck)"
  fi
  check "compose: only the proxy publishes a port (80), DB/Solr/JDWP/REST/UI do not" compose_ports_closed
  check "proxy: /server to dspace:8080, / to dspace-angular:4000, Host passed on" eval \
    'grep -q "set \$rest http://dspace:8080;" "$AMI/files/compose/nginx.conf" &&
     grep -q "set \$ui http://dspace-angular:4000;" "$AMI/files/compose/nginx.conf" &&
     grep -q "proxy_set_header Host \$host;" "$AMI/files/compose/nginx.conf"'
  packer_tests
}

# Every shell script under ami/: by extension or by a bash shebang.
shell_scripts() {
  find "$AMI" -type f ! -name '*.md' ! -name '*.hcl' ! -name '*.yml' ! -name '*.conf' | sort |
    while IFS= read -r f; do
      case "$f" in
        *.sh) echo "$f" ;;
        *) head -n 1 "$f" | grep -q '^#!.*\(bash\|sh\)' && echo "$f" ;;
      esac
    done
}

# The compose layer must close every port upstream publishes (8080, 8000 JDWP, 5432, 8983)
# and publish only the proxy's 80. Parsed as YAML when PyYAML is there, else by text.
compose_ports_closed() {
  local yml="$AMI/files/compose/preview.yml"
  if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$yml" <<'EOF'
import sys, yaml
class Tagged(str): pass
def tagged(loader, suffix, node):
    value = loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else None
    return ("tag:" + suffix, value)
yaml.SafeLoader.add_multi_constructor("!", tagged)
doc = yaml.safe_load(open(sys.argv[1]))
svc = doc["services"]
for name in ("dspace", "dspacedb", "dspacesolr"):
    assert svc[name]["ports"] == ("tag:reset", []), f"{name} ports not reset: {svc[name].get('ports')}"
assert "ports" not in svc["dspace-angular"], "dspace-angular publishes a port"
assert svc["dspace-proxy"]["ports"] == ["80:80"], svc["dspace-proxy"]["ports"]
published = [n for n, s in svc.items() if "ports" in s and s["ports"] != ("tag:reset", [])]
assert published == ["dspace-proxy"], published
EOF
  else
    [ "$(grep -c 'ports: !reset \[\]' "$yml")" = 3 ] && [ "$(grep -c '^ *ports:' "$yml")" = 4 ] &&
      grep -q '"80:80"' "$yml"
  fi
}

packer_tests() {
  local dir="$AMI/packer"
  provision_helper_tests
  publish_tests
  if ! command -v packer >/dev/null; then
    echo "# SKIP packer validate: packer not installed (apt-get install -y packer)"
    return
  fi
  # Packer 1.6 (Debian) bundles the amazon builder, so the full validate runs offline: it
  # checks block types, variables and that every script exists. Newer Packer without the
  # plugin installed can only check syntax here (no network to fetch it).
  if packer validate "$dir" >"$WORK/packer.out" 2>&1; then
    ok "packer validate (full, $(packer version | head -n 1))"
  elif grep -qiE 'unknown source type|plugin' "$WORK/packer.out"; then
    echo "# packer amazon plugin not installed: syntax check only"
    check "packer validate -syntax-only" packer validate -syntax-only "$dir"
  else
    not_ok "packer validate" "$(tail -n 8 "$WORK/packer.out")"
  fi
  check "packer fmt -check" packer fmt -check "$dir"
}

# scripts/common.sh: the base images images.sh pre-pulls, from Dockerfiles shaped like DSpace's.
provision_helper_tests() {
  local d="$WORK/dockerfiles"
  mkdir -p "$d"
  cat >"$d/solr" <<'EOF'
# docker build --build-arg SOLR_VERSION=9.8 -f ./dspace/src/main/docker/dspace-solr/Dockerfile .
ARG SOLR_VERSION=9.8

FROM scratch AS solrconfigs

FROM docker.io/solr:${SOLR_VERSION}
ARG SOLR_VERSION=0.0
COPY --from=solrconfigs search/conf/* /opt/solr/server/solr/configsets/search/conf/
EOF
  printf 'FROM solr:8.11-slim\n' >"$d/solr-8"
  printf 'ARG NODE_VERSION=18\nFROM docker.io/node:$NODE_VERSION-alpine AS build\nRUN yarn install\nFROM build\n' >"$d/dist"
  check "images.sh: the Solr base image is the Dockerfile's FROM with ARG defaults (not scratch, not a stage)" eval \
    '[ "$(bash -c ". \"\$1\"; base_images \"\$2\"" _ "$AMI/packer/scripts/common.sh" "$d/solr")" = docker.io/solr:9.8 ] &&
     [ "$(bash -c ". \"\$1\"; base_images \"\$2\"" _ "$AMI/packer/scripts/common.sh" "$d/solr-8")" = solr:8.11-slim ] &&
     [ "$(bash -c ". \"\$1\"; base_images <\"\$2\"" _ "$AMI/packer/scripts/common.sh" "$d/dist")" = docker.io/node:18-alpine ]'
}

# The post-processor script against a hand-written manifest of three runs, with the stub aws.
# Both builds are named al2023 (an HCL2 build's name is its source block's label); the arch
# is ARCH (the recipe's source.name) and the manifest's custom_data.arch. The real run of the
# recipe's post-processors is tests/packer_build.sh.
publish_tests() {
  new_machine publish
  cat >"$S/manifest.json" <<'JSON'
{"builds": [
  {"name": "al2023", "builder_type": "amazon-ebs", "packer_run_uuid": "old-run", "artifact_id": "us-east-1:ami-0000000000000000a", "custom_data": {"arch": "x86_64"}},
  {"name": "al2023", "builder_type": "amazon-ebs", "packer_run_uuid": "run-2", "artifact_id": "eu-west-1:ami-0eeeeeeeeeeeeeeee,us-east-1:ami-0123456789abcdef0", "custom_data": {"arch": "x86_64"}},
  {"name": "al2023", "builder_type": "amazon-ebs", "packer_run_uuid": "run-2", "artifact_id": "us-east-1:ami-0fedcba9876543210", "custom_data": {"arch": "arm64"}},
  {"name": "al2023", "builder_type": "null", "packer_run_uuid": "run-3", "artifact_id": "Null", "custom_data": {"arch": "x86_64"}}
]}
JSON
  local pub=(env PATH="$S/bin:$PATH" STUB_LOG="$S/calls.log" MANIFEST="$S/manifest.json" AWS_ENDPOINT_URL=
    SSM_PARAMETER=/dspace-preview/ami-id DEFAULT_ARCH=x86_64 AWS_REGION=us-east-1 PACKER_BUILD_NAME=al2023)
  "${pub[@]}" PACKER_RUN_UUID=run-2 ARCH=x86_64 "$AMI/packer/scripts/publish-ami-id.sh" >/dev/null
  "${pub[@]}" PACKER_RUN_UUID=run-2 ARCH=arm64 AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
    "$AMI/packer/scripts/publish-ami-id.sh" >/dev/null
  check "publish: this run's x86_64 AMI (in AWS_REGION) goes to the launch step's parameter and to -x86_64" eval \
    'called aws ssm put-parameter --region us-east-1 --name /dspace-preview/ami-id --value ami-0123456789abcdef0 --type String --data-type aws:ec2:image &&
     called aws ssm put-parameter --name /dspace-preview/ami-id-x86_64 --value ami-0123456789abcdef0 &&
     not_called ami-0eeeeeeeeeeeeeeee && not_called ami-0000000000000000a'
  check "publish: arm64 goes to -arm64 only, through AWS_ENDPOINT_URL when set; nothing under the source label" eval \
    'called aws ssm put-parameter --endpoint-url http://127.0.0.1:5000 --region us-east-1 --name /dspace-preview/ami-id-arm64 --value ami-0fedcba9876543210 &&
     [ "$(grep -c ami-0fedcba9876543210 "$S/calls.log")" = 1 ] && [ "$(grep -c -- --endpoint-url "$S/calls.log")" = 1 ] &&
     not_called al2023'
  : >"$S/calls.log"
  check "publish: a null build (the packer build test) needs NULL_BUILD_AMI_<arch>; no AMI, no parameter" eval \
    '! "${pub[@]}" PACKER_RUN_UUID=run-3 ARCH=x86_64 "$AMI/packer/scripts/publish-ami-id.sh" &&
     [ ! -s "$S/calls.log" ] &&
     "${pub[@]}" PACKER_RUN_UUID=run-3 ARCH=x86_64 NULL_BUILD_AMI_x86_64=ami-0aaaaaaaaaaaaaaaa "$AMI/packer/scripts/publish-ami-id.sh" &&
     called aws ssm put-parameter --name /dspace-preview/ami-id-x86_64 --value ami-0aaaaaaaaaaaaaaaa'
}
