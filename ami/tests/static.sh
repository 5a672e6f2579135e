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
  publish_tests
}

# The post-processor script against a manifest of two runs, with the stub aws.
publish_tests() {
  new_machine publish
  cat >"$S/manifest.json" <<'JSON'
{"builds": [
  {"name": "x86_64", "packer_run_uuid": "old-run", "artifact_id": "us-east-1:ami-0000000000000000a"},
  {"name": "x86_64", "packer_run_uuid": "run-2", "artifact_id": "us-east-1:ami-0123456789abcdef0"},
  {"name": "arm64", "packer_run_uuid": "run-2", "artifact_id": "us-east-1:ami-0fedcba9876543210"}
]}
JSON
  local pub=(env PATH="$S/bin:$PATH" STUB_LOG="$S/calls.log" MANIFEST="$S/manifest.json"
    SSM_PARAMETER=/dspace-preview/ami-id DEFAULT_ARCH=x86_64 AWS_REGION=us-east-1 PACKER_RUN_UUID=run-2)
  "${pub[@]}" PACKER_BUILD_NAME=x86_64 "$AMI/packer/scripts/publish-ami-id.sh" >/dev/null
  "${pub[@]}" PACKER_BUILD_NAME=arm64 "$AMI/packer/scripts/publish-ami-id.sh" >/dev/null
  check "publish: this run's x86_64 AMI goes to the launch step's parameter and to -x86_64" eval \
    'called aws ssm put-parameter --region us-east-1 --name /dspace-preview/ami-id --value ami-0123456789abcdef0 --type String --data-type aws:ec2:image &&
     called aws ssm put-parameter --name /dspace-preview/ami-id-x86_64 --value ami-0123456789abcdef0'
  check "publish: arm64 goes to -arm64 only" eval \
    'called aws ssm put-parameter --name /dspace-preview/ami-id-arm64 --value ami-0fedcba9876543210 &&
     [ "$(grep -c ami-0fedcba9876543210 "$S/calls.log")" = 1 ] && not_called ami-0000000000000000a'
}
