# shellcheck shell=bash
# Ship logs to CloudWatch Logs: the boot log through the CloudWatch agent (stream
# ${PREVIEW_ID}/boot) and every container through Docker's awslogs driver (stream
# ${PREVIEW_ID}/<container name>). Both run on the host, so they reach the instance role
# through IMDS while containers (one hop further) cannot.

CWAGENT_CONFIG="${CWAGENT_CONFIG:-$PREVIEW_FS_ROOT/opt/aws/amazon-cloudwatch-agent/etc/dspace-preview.json}"
DOCKER_DAEMON_JSON="${DOCKER_DAEMON_JSON:-$PREVIEW_FS_ROOT/etc/docker/daemon.json}"

start_boot_log_shipping() {
  mkdir -p "$(dirname "$CWAGENT_CONFIG")"
  jq -n --arg file "$PREVIEW_LOG_DIR/boot.log" --arg group "$LOG_GROUP" \
    --arg stream "$PREVIEW_ID/boot" --arg region "$AWS_REGION" '{
      agent: {region: $region, logfile: "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log"},
      logs: {logs_collected: {files: {collect_list: [
        {file_path: $file, log_group_name: $group, log_stream_name: $stream, timezone: "UTC"}
      ]}}}}' >"$CWAGENT_CONFIG"
  local ctl
  ctl="$(command -v amazon-cloudwatch-agent-ctl || echo /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl)"
  # Losing the log shipper must not lose the preview: warn and go on.
  run "$ctl" -a fetch-config -m ec2 -s -c "file:$CWAGENT_CONFIG" || log "WARNING: CloudWatch agent did not start; boot log stays local"
}

# Make awslogs the default driver so compose services and one-off containers alike log
# to CloudWatch without naming a driver in any compose file. non-blocking: a slow
# CloudWatch never stalls a container. Docker 20.10+ keeps a local copy for `docker logs`.
configure_container_logs() {
  mkdir -p "$(dirname "$DOCKER_DAEMON_JSON")"
  local current='{}'
  [ -s "$DOCKER_DAEMON_JSON" ] && current="$(cat "$DOCKER_DAEMON_JSON")"
  jq --arg group "$LOG_GROUP" --arg region "$AWS_REGION" --arg tag "$PREVIEW_ID/{{.Name}}" \
    '. + {"log-driver": "awslogs", "log-opts": {
       "awslogs-group": $group, "awslogs-region": $region, "tag": $tag,
       "mode": "non-blocking", "max-buffer-size": "4m"}}' \
    <<<"$current" >"$DOCKER_DAEMON_JSON.new"
  mv -f "$DOCKER_DAEMON_JSON.new" "$DOCKER_DAEMON_JSON"
  run systemctl restart docker
}
