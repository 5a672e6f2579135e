# shellcheck shell=bash
# Assertions are single-quoted on purpose (expanded by eval in check); variables are shared
# between the sourced test files.
# shellcheck disable=SC2016,SC2034
# The image recipe's real `packer build`, without AWS and without installing anything:
#
# - Template: ami/packer itself with its amazon-ebs sources swapped for null ones, derived
#   mechanically by packer_test_template: the top-level `source "amazon-ebs" "<label>"` block
#   and the build's `source "amazon-ebs.<label>"` blocks are left out, and null sources with the
#   same label and names (x86_64, arm64) are put in their place. Every other line, the
#   provisioner and post-processor blocks included, is copied verbatim (a check compares them);
#   variables.pkr.hcl is copied, scripts/ and ../files are links to the real ones.
# - Instances: each null source connects over SSH to its own throwaway sshd on a free loopback
#   port (own host key, config file and authorized key for the current user, all in $WORK),
#   started in a mount namespace whose /tmp and /var/tmp are directories of its own under
#   $WORK, as each arch's build instance has its own; $WORK is read-only there. Its sessions get PREVIEW_DRY_RUN=1, so the real
#   scripts print what they received and would do and change nothing (scripts/common.sh), and
#   a PATH starting with a `sudo` shim: we are root already and sudo may not be installed; the
#   shim runs its command with the environment kept, as `sudo -E` does for root, and refuses
#   to run anything outside a dry run. Root is needed for the namespaces (and sshd).
# - AWS: moto (a local emulator) on a free loopback port; the test registers one image per arch
#   in its EC2. A null build makes no AMI, so the publish script takes the AMI of a build whose
#   manifest entry says builder_type "null" from NULL_BUILD_AMI_<arch> (in Packer's
#   environment, which shell-local post-processors inherit); amazon-ebs builds use the
#   manifest's artifact id. AWS_ENDPOINT_URL points the publish script's AWS CLI at moto.
#
# Both sshds and moto are stopped however the build ends (EXIT trap of the subshell running
# them). Needs root, packer, sshd, ssh-keygen, unshare, jq, the AWS CLI and moto's server
# ($AMI/../.venv/bin/moto_server, made by `cargo xtask setup`, or moto_server on PATH);
# without one of them the test says "# SKIP" and why.

PB_TOKEN="dckr_pat_0123456789-packer-build-test"

packer_build_tests() {
  local why
  if ! why="$(packer_build_prerequisites)"; then
    echo "# SKIP packer build: $why"
    return
  fi
  PB="$WORK/packer-build"
  rm -rf "$PB"
  mkdir -p "$PB"
  local start=$SECONDS
  # A subshell, so its EXIT trap (stopping the sshds and moto) leaves run.sh's alone.
  ( packer_build_run ) >"$PB/run.log" 2>&1
  echo "# packer build test: $((SECONDS - start)) s"
  if [ -s "$PB/setup-failed" ]; then
    not_ok "packer build: setup" "$(cat "$PB/setup-failed")" "$(tail -n 5 "$PB/run.log")"
    return
  fi

  check "packer build: the test template is the recipe with null sources, its provisioners and post-processors verbatim" eval \
    'diff <(sed -n "/^  provisioner /,\$p" "$AMI/packer/dspace-preview.pkr.hcl") <(sed -n "/^  provisioner /,\$p" "$PB/packer/build.pkr.hcl") &&
     ! grep -q "^ *source \"amazon-ebs" "$PB/packer/build.pkr.hcl" &&
     [ "$(grep -c "^  source \"null\.al2023\"" "$PB/packer/build.pkr.hcl")" = 2 ]'
  check "packer build: both null builds (x86_64, arm64) finish over SSH" eval \
    '{ [ "$(cat "$PB/build.rc")" = 0 ] &&
       grep -q "Build .null.x86_64. finished" "$PB/build.log" && grep -q "Build .null.arm64. finished" "$PB/build.log"; } ||
     { grep -iE "error|refus" "$PB/build.log" | tail -n 4; false; }'
  check "packer build: the file provisioners upload ami/files and common.sh to each instance" eval \
    '(for a in x86_64 arm64; do
       diff -r "$AMI/files" "$PB/instance-$a/tmp/dspace-preview-files" &&
       cmp "$AMI/packer/scripts/common.sh" "$PB/instance-$a/tmp/dspace-preview-common.sh" || exit 1
     done)'
  check "packer build: every script runs, in order, as a dry run on each instance" eval \
    '(for a in x86_64 arm64; do
       [ "$(sed -n "s/^ *null\.$a: dry run: \([^:]*\): start\$/\1/p" "$PB/build.log" | tr "\n" " ")" = \
         "base.sh docker.sh caddy.sh install.sh sources.sh images.sh warm-caches.sh harden.sh " ] || exit 1
     done)'
  check "packer build: docker.sh gets COMPOSE_VERSION and BUILDX_VERSION (-var values) and would fetch those releases" eval \
    '(for a in x86_64 arm64; do
       said $a docker.sh "COMPOSE_VERSION=2.99.1" && said $a docker.sh "BUILDX_VERSION=0.99.2" &&
       said $a docker.sh "would run: install_plugins https://github.com/docker/compose/releases/download/v2.99.1/docker-compose-linux-" &&
       said $a docker.sh " https://github.com/docker/buildx/releases/download/v0.99.2/buildx-v0.99.2.linux-" || exit 1
     done)'
  check "packer build: docker.sh writes daemon.json with the BuildKit entitlements off" eval \
    'said x86_64 docker.sh "would write /etc/docker/daemon.json:" &&
     said x86_64 docker.sh "\"entitlements\": {\"network-host\": false, \"security-insecure\": false}" &&
     said x86_64 docker.sh "\"gc\": {\"enabled\": true, \"defaultKeepStorage\": \"25GB\"},"'
  check "packer build: caddy.sh gets CADDY_VERSION and would fetch that release (checked) and write its unit" eval \
    '(for a in x86_64 arm64; do
       said $a caddy.sh "CADDY_VERSION=2.99.3" &&
       said $a caddy.sh "would run: install_caddy https://github.com/caddyserver/caddy/releases/download/v2.99.3/caddy_2.99.3_linux_" &&
       said $a caddy.sh "would write /etc/systemd/system/dspace-preview-caddy.service:" &&
       said $a caddy.sh "ExecStart=/usr/local/bin/caddy run --config /etc/caddy/Caddyfile --adapter caddyfile" || exit 1
     done)'
  check "packer build: install.sh gets PROXY_IMAGE and finds the uploaded files" eval \
    '(for a in x86_64 arm64; do
       said $a install.sh "PROXY_IMAGE=registry.example.org/preview/proxy:test" &&
       said $a install.sh "uploaded to /tmp/dspace-preview-files: ./bin/preview-boot ./bin/preview-health" &&
       said $a install.sh "would write /opt/dspace-preview/etc/images.env:" || exit 1
     done)'
  check "packer build: sources.sh gets BRANCHES and would clone and fetch each branch" eval \
    '(for a in x86_64 arm64; do
       said $a sources.sh "BRANCHES=main dspace-7_x" &&
       said $a sources.sh "would run: git clone --no-checkout https://github.com/DSpace/DSpace.git /opt/dspace-preview/src/DSpace" &&
       said $a sources.sh "would run: git -C /opt/dspace-preview/src/dspace-angular fetch --no-tags origin +refs/heads/dspace-7_x:refs/remotes/origin/dspace-7_x" || exit 1
     done)'
  check "packer build: images.sh gets BRANCHES, PROXY_IMAGE and the Docker Hub account" eval \
    '(for a in x86_64 arm64; do
       said $a images.sh "BRANCHES=main dspace-7_x" && said $a images.sh "PROXY_IMAGE=registry.example.org/preview/proxy:test" &&
       said $a images.sh "DOCKERHUB_USERNAME=preview-bot" && said $a images.sh "DOCKERHUB_TOKEN=<set>" &&
       said $a images.sh "would run: docker login --username preview-bot --password-stdin" &&
       said $a images.sh "would run: docker pull --quiet registry.example.org/preview/proxy:test" || exit 1
     done)'
  check "packer build: warm-caches.sh gets BRANCHES and would bake the sample data where the boot looks; harden.sh would mask sshd" eval \
    '(for a in x86_64 arm64; do
       said $a warm-caches.sh "BRANCHES=main dspace-7_x" && said $a harden.sh "would run: systemctl mask sshd.service" &&
       said $a warm-caches.sh "would run: curl -fsSL --retry 3 -o /opt/dspace-preview/sample/assetstore.tar.gz https://github.com/DSpace-Labs/AIP-Files/releases/download/demo-entities-data/assetstore.tar.gz" &&
       said $a warm-caches.sh "would run: curl -fsSL --retry 3 -o /opt/dspace-preview/sample/dogAndReport.zip https://github.com/DSpace-Labs/AIP-Files/raw/main/dogAndReport.zip" || exit 1
     done)'
  check "packer build: the dry run changes nothing (instance /tmp holds only the uploads; no token in the output)" eval \
    '! grep -qF "$PB_TOKEN" "$PB/build.log" && diff "$PB/host-before" "$PB/host-after" &&
     (for a in x86_64 arm64; do
       [ "$(ls "$PB/instance-$a/tmp" | grep -vx -e "$(packer_build_tmp_stub)" -e sshd.pid | tr "\n" " ")" = "dspace-preview-common.sh dspace-preview-files " ] &&
       [ -z "$(ls "$PB/instance-$a/var-tmp")" ] || exit 1
     done)'
  check "packer build: publishes x86_64's AMI to /dspace-preview/ami-id-x86_64 and (default arch) /dspace-preview/ami-id" eval \
    '[ "$(ssm_value /dspace-preview/ami-id-x86_64)" = "$(cat "$PB/ami-x86_64")" ] &&
     [ "$(ssm_value /dspace-preview/ami-id)" = "$(cat "$PB/ami-x86_64")" ] &&
     [ "$(jq -r ".Parameters[] | select(.Name == \"/dspace-preview/ami-id\") | .DataType" "$PB/ssm.json")" = aws:ec2:image ] ||
     { ssm_dump; false; }'
  check "packer build: publishes arm64's AMI to /dspace-preview/ami-id-arm64, and nothing else" eval \
    '[ "$(ssm_value /dspace-preview/ami-id-arm64)" = "$(cat "$PB/ami-arm64")" ] &&
     [ "$(jq -r "[.Parameters[].Name] | sort | join(\" \")" "$PB/ssm.json")" = \
       "/dspace-preview/ami-id /dspace-preview/ami-id-arm64 /dspace-preview/ami-id-x86_64" ] || { ssm_dump; false; }'
}

# said ARCH SCRIPT TEXT: a dry-run line of SCRIPT on ARCH's instance contains TEXT.
said() { grep -F -- "null.$1: dry run: $2: " "$PB/build.log" | grep -qF -- "$3"; }
# What SSM holds (and the AMIs registered), for a failing check's message.
ssm_dump() {
  echo "registered x86_64=$(cat "$PB/ami-x86_64") arm64=$(cat "$PB/ami-arm64"); SSM holds:"
  jq -c '[.Parameters[] | {Name, Value}]' "$PB/ssm.json"
}
ssm_value() { jq -r --arg n "$1" '.Parameters[] | select(.Name == $n) | .Value' "$PB/ssm.json"; }
# The directory an instance's /tmp holds so that $WORK stays visible in it (see instance_start).
packer_build_tmp_stub() { case "$PB" in /tmp/*) local rel="${PB#/tmp/}"; echo "${rel%%/*}" ;; esac; }

packer_build_prerequisites() {
  local tool
  [ "$(id -u)" = 0 ] || { echo "needs root (mount namespaces for the stand-in instances)"; return 1; }
  for tool in packer ssh-keygen unshare jq aws; do
    command -v "$tool" >/dev/null || { echo "$tool not installed"; return 1; }
  done
  [ -x /usr/sbin/sshd ] || { echo "no /usr/sbin/sshd (apt-get install -y openssh-server)"; return 1; }
  unshare -m true 2>/dev/null || { echo "cannot make a mount namespace (unshare -m)"; return 1; }
  moto_server_cmd >/dev/null || { echo "no moto server (cargo xtask setup makes .venv)"; return 1; }
}

moto_server_cmd() {
  if [ -x "$AMI/../.venv/bin/moto_server" ]; then
    echo "$AMI/../.venv/bin/moto_server"
  else
    command -v moto_server
  fi
}

# A loopback port nothing listens on.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
# wait_port PORT: until something listens there (10 s at most).
wait_port() {
  local _
  for _ in $(seq 100); do
    (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Runs in a subshell: moto, the instances, the build; results into $PB. Stops what it started.
packer_build_run() {
  PIDS=()
  trap packer_build_stop EXIT
  trap 'exit 130' INT TERM HUP
  setup_failed() { echo "$*" >"$PB/setup-failed"; exit 1; }

  local moto_port arch ports=() aws_env
  moto_port="$(free_port)"
  "$(moto_server_cmd)" -H 127.0.0.1 -p "$moto_port" >"$PB/moto.log" 2>&1 &
  PIDS+=($!)
  wait_port "$moto_port" || setup_failed "moto did not start: $(tail -n 3 "$PB/moto.log")"
  # Dummy credentials, no profile or config of the user's, everything to moto.
  : >"$PB/aws-config"
  aws_env=(-u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    AWS_CONFIG_FILE="$PB/aws-config" AWS_SHARED_CREDENTIALS_FILE="$PB/aws-config"
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)
  for arch in x86_64 arm64; do
    env "${aws_env[@]}" aws --endpoint-url "http://127.0.0.1:$moto_port" --region us-east-1 ec2 register-image \
      --name "dspace-preview-$arch-test" --architecture "$arch" --root-device-name /dev/xvda \
      --query ImageId --output text >"$PB/ami-$arch" || setup_failed "cannot register an image in moto"
  done

  # The stand-in instances.
  mkdir -p "$PB/ssh" "$PB/bin"
  if ! { ssh-keygen -q -t ed25519 -N '' -f "$PB/ssh/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$PB/ssh/id_ed25519" &&
    cp "$PB/ssh/id_ed25519.pub" "$PB/ssh/authorized_keys"; }; then
    setup_failed "ssh-keygen failed"
  fi
  cat >"$PB/bin/sudo" <<'EOF'
#!/bin/sh
# sudo on the test's stand-in instance: the user is root already. Runs the command with the
# environment kept (as `sudo -E` does), and only in a dry run.
[ "${PREVIEW_DRY_RUN:-}" = 1 ] || { echo "sudo shim: PREVIEW_DRY_RUN is not set, refusing to run $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    -E|--preserve-env) shift ;;
    -*) echo "sudo shim: unsupported option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
exec "$@"
EOF
  chmod 0755 "$PB/bin/sudo"
  # sshd's privilege separation directory (made by the openssh-server service otherwise).
  [ -d /run/sshd ] || mkdir -m 0755 /run/sshd
  packer_build_host_state >"$PB/host-before"
  for arch in x86_64 arm64; do
    ports+=("$(free_port)")
    instance_start "$arch" "${ports[-1]}" || setup_failed "sshd of $arch did not start: $(tail -n 3 "$PB/instance-$arch/sshd.log")"
  done

  # The template: the real recipe, null sources.
  mkdir -p "$PB/packer"
  ln -s "$AMI/packer/scripts" "$PB/packer/scripts"
  ln -s "$AMI/files" "$PB/files"
  cp "$AMI/packer/variables.pkr.hcl" "$PB/packer/"
  packer_test_template "$AMI/packer/dspace-preview.pkr.hcl" "$(id -un)" "$PB/ssh/id_ed25519" \
    x86_64 "${ports[0]}" arm64 "${ports[1]}" >"$PB/packer/build.pkr.hcl" || setup_failed "cannot derive the template"

  (
    cd "$PB" || exit 1
    env "${aws_env[@]}" CHECKPOINT_DISABLE=1 PACKER_LOG= \
      NULL_BUILD_AMI_x86_64="$(cat "$PB/ami-x86_64")" NULL_BUILD_AMI_arm64="$(cat "$PB/ami-arm64")" \
      timeout 180 packer build -color=false \
      -var compose_version=2.99.1 -var buildx_version=0.99.2 -var caddy_version=2.99.3 -var 'branches=["main","dspace-7_x"]' \
      -var proxy_image=registry.example.org/preview/proxy:test \
      -var dockerhub_username=preview-bot -var "dockerhub_token=$PB_TOKEN" \
      packer
  ) >"$PB/build.log" 2>&1
  echo $? >"$PB/build.rc"
  packer_build_host_state >"$PB/host-after"
  env "${aws_env[@]}" aws --endpoint-url "http://127.0.0.1:$moto_port" --region us-east-1 ssm get-parameters-by-path \
    --path / --recursive --output json >"$PB/ssm.json" || echo '{"Parameters": []}' >"$PB/ssm.json"
}

# The EXIT trap of packer_build_run: stop the sshds and moto.
packer_build_stop() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}

# What the provisioning scripts would change on this machine if they ran for real.
packer_build_host_state() {
  local p
  for p in /opt/dspace-preview /var/lib/dspace-preview /var/log/dspace-preview /etc/docker/daemon.json \
    /usr/libexec/docker/cli-plugins /etc/sysctl.d/90-dspace-preview.conf /swapfile /tmp/dspace-preview-files \
    /tmp/dspace-preview-common.sh /tmp/dspace-preview-warm /usr/local/bin/caddy /etc/caddy \
    /etc/systemd/system/dspace-preview-caddy.service; do
    if [ -e "$p" ]; then echo "$p $(stat -c %Y "$p")"; else echo "$p absent"; fi
  done
}

# instance_start ARCH PORT: sshd on 127.0.0.1:PORT, in a mount namespace of its own where /tmp
# is $PB/instance-ARCH/tmp and /var/tmp an empty directory next to it. $PB stays visible there
# (keys, config, the sudo shim), read-only: nothing the instance runs can harm the test's files.
# (When $PB is under /tmp, it is bind-mounted at its own path inside the new /tmp.)
instance_start() {
  local dir="$PB/instance-$1" user
  user="$(id -un)"
  mkdir -p "$dir/tmp" "$dir/var-tmp"
  chmod 1777 "$dir/tmp" "$dir/var-tmp"
  cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1:$2
HostKey $PB/ssh/host_key
PidFile /tmp/sshd.pid
AuthorizedKeysFile $PB/ssh/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
PrintMotd no
SetEnv PATH=$PB/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PREVIEW_DRY_RUN=1
EOF
  # unshare and sh exec, so $! is sshd's pid; its log goes to stderr (-e), opened out here.
  unshare -m --propagation private sh -c '
    set -e
    pb="$1"; tmp="$2"
    case "$pb" in
      /tmp/*)
        mkdir -p "$tmp${pb#/tmp}"
        mount --bind "$pb" "$tmp${pb#/tmp}"
        mount -o remount,bind,ro "$tmp${pb#/tmp}"
        mount --rbind "$tmp" /tmp ;;
      *)
        mount --rbind "$tmp" /tmp
        mount --bind "$pb" "$pb"
        mount -o remount,bind,ro "$pb" ;;
    esac
    mount --bind "$3" /var/tmp
    exec /usr/sbin/sshd -D -e -f "$4"' sh "$PB" "$dir/tmp" "$dir/var-tmp" "$dir/sshd_config" 2>"$dir/sshd.log" &
  PIDS+=($!)
  wait_port "$2"
}

# packer_test_template RECIPE USER KEY NAME PORT [NAME PORT...]: the recipe with its amazon-ebs
# sources swapped for null ones of the same label, one per NAME, connecting as USER with KEY to
# 127.0.0.1:PORT. Relies on `packer fmt` layout (top-level blocks close with "}" in column 1,
# the build's source blocks with "  }"), which static.sh checks.
packer_test_template() {
  local recipe="$1" user="$2" key="$3" label refs="" names="" i
  shift 3
  label="$(sed -n 's/^source "amazon-ebs" "\([^"]*\)" {$/\1/p' "$recipe")"
  [ -n "$label" ] || return 1
  # The recipe's own build names must be the ones given.
  for ((i = 1; i <= $#; i += 2)); do names+="${!i} "; done
  [ "$(awk '/^  source "amazon-ebs\./ { s = 1 } s && /^    name / { gsub(/"/, "", $3); printf "%s ", $3 } /^  }$/ { s = 0 }' "$recipe")" = \
    "$names" ] || return 1
  while [ $# -gt 0 ]; do
    refs+="  source \"null.$label\" {"$'\n'"    name     = \"$1\""$'\n'"    ssh_port = $2"$'\n'"  }"$'\n'
    shift 2
  done
  NULL_SOURCE="# Test template: ami/packer/dspace-preview.pkr.hcl with null sources (ami/tests/packer_build.sh).
source \"null\" \"$label\" {
  communicator         = \"ssh\"
  ssh_host             = \"127.0.0.1\"
  ssh_username         = \"$user\"
  ssh_private_key_file = \"$key\"
  ssh_timeout          = \"30s\"
}

" NULL_REFS="$refs" awk '
    BEGIN { printf "%s", ENVIRON["NULL_SOURCE"] }
    skip { if ($0 ~ end) skip = 0; next }
    /^source "amazon-ebs" / { skip = 1; end = "^}$"; next }
    /^  source "amazon-ebs\./ { skip = 1; end = "^  }$"; next }
    { print }
    /^build {$/ { printf "%s", ENVIRON["NULL_REFS"] }' "$recipe"
}
