# dspace-preview: the allowlist a rendered compose model must pass before `docker compose up`.
# Input: the output of `docker compose ... config --format json` (Compose v2; shapes checked
# on 2.26 and against compose-go v2.8's types, which Compose 2.39 uses). Called by
# lib/compose_policy.sh, which explains the threat and passes:
#   $home     PREVIEW_HOME: the one bind mount allowed is $home/compose/nginx.conf (or, in
#             HTTPS mode, $home/compose/nginx-https.conf)
#   $backend  BACKEND_SRC, $ui  UI_SRC: build contexts must be these directories or below
#             (empty when unset; never "/")
#   $raw      [the same model rendered with --no-interpolate] or [] (--slurpfile): env_file
#             and label_file are only visible there (see compose_policy.sh)
# Output lines: "violation<TAB>text", and "path<TAB>service<TAB>what<TAB>path" for each build
# path that passed the textual check, for compose_policy.sh to resolve on disk (symlinks).
#
# Rendered JSON never carries empty values for most keys (`privileged: false`, `pid: ""`,
# `cap_add: []` are omitted), but `command` and `entrypoint` are always present (null), and
# a hand-written model may spell "off" as false/""/[]/{}: `set` treats all of those as unset.

def set: . != null and . != false and . != "" and . != [] and . != {} and . != 0;
def among($list): . as $x | any($list[]; . == $x);
def show:
  if . == true then ""
  elif type == "string" then " " + .
  elif type == "number" then " " + tostring
  elif type == "array" and all(.[]; type == "string" or type == "number") then " " + (map(tostring) | join(","))
  else " " + (tojson | .[0:100])
  end;

# The services of a preview: DSpace's three and our two.
def preview_services: ["dspace", "dspacedb", "dspacesolr", "dspace-angular", "dspace-proxy"];

# Service keys allowed at all (anything else is refused, so a key added by a newer Compose,
# e.g. use_api_socket (2.36: the Docker socket in the container), provider (runs a host
# binary), post_start/pre_stop (exec hooks that may be privileged), develop (host files
# synced in), models, is refused until someone looks at it). What is NOT here and why:
# privileged, cap_add, devices, device_cgroup_rules, gpus, security_opt other than
# no-new-privileges, runtime, isolation: they widen what a container may do to the host
# kernel. network_mode/net, pid, ipc, uts, userns_mode, cgroup, cgroup_parent: host (or
# another container's) namespaces. volumes_from, volume_driver: mounts not listed here.
# env_file, label_file: read host files at render time (see compose_policy.sh). configs,
# secrets, credential_spec: host files or environment handed to containers. logging,
# log_driver, log_opt: the daemon ships every container's log to CloudWatch; a service's own
# driver could divert (syslog/gelf to anywhere) or drop those logs. external_links: names
# containers outside this model, which this check cannot see; DSpace does not use it.
# oom_kill_disable, oom_score_adj, cpu_rt_*: let a container make the kernel kill the SSM
# agent or dockerd first, or starve the host. blkio_config, storage_opt: host devices and
# storage driver options; unused.
# Harmless, so allowed: extra_hosts, dns*, hostname, sysctls (Docker accepts only
# namespaced ones for a container with its own network), tmpfs, ulimits, shm_size, user
# (root in a container is Docker's default; DSpace's Solr uses it), group_add, cap_drop,
# resource limits (they only restrict), healthcheck, restart, labels, links (inside the
# project).
def service_keys: [
  "annotations", "attach", "build", "cap_drop", "command", "container_name", "cpu_count",
  "cpu_percent", "cpu_period", "cpu_quota", "cpu_shares", "cpus", "cpuset", "depends_on",
  "deploy", "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "environment",
  "expose", "extra_hosts", "group_add", "healthcheck", "hostname", "image", "init", "labels",
  "links", "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit",
  "networks", "pids_limit", "platform", "ports", "profiles", "pull_policy", "read_only",
  "restart", "scale", "security_opt", "shm_size", "stdin_open", "stop_grace_period",
  "stop_signal", "sysctls", "tmpfs", "tty", "ulimits", "user", "volumes", "working_dir"
];

# Build keys allowed. Refused: network (host networking for RUN steps: the instance role's
# credentials through IMDS), entitlements and privileged (network.host / security.insecure),
# ssh (the host's agent or keys), secrets (host files or environment), cache_from/cache_to
# (type=local reads/writes host directories), tags (could re-tag an image another service
# runs), isolation. A PR's Dockerfile runs in the build, so the build gets nothing of the host
# but its context.
def build_keys: [
  "context", "dockerfile", "dockerfile_inline", "args", "additional_contexts", "target",
  "labels", "pull", "no_cache", "platforms", "shm_size", "extra_hosts", "ulimits",
  "provenance", "sbom"
];

def roots: [$backend, $ui] | map(select(type == "string" and startswith("/") and . != "/"));
# Rendered paths are absolute and cleaned, so "." or ".." segments only come from a
# hand-made model: refuse them rather than reason about them.
def clean_abs: type == "string" and startswith("/") and (split("/") | all(.[]; . != ".." and . != "."));
def in_roots: . as $p | ($p | clean_abs) and any(roots[]; . as $r | $p == $r or ($p | startswith($r + "/")));
def roots_text: if (roots | length) == 0 then "no build root is set" else "outside " + (roots | join(" and ")) end;

# additional_contexts values: a local directory (must be in the roots), or
# docker-image://REF (an image, like FROM) or service:NAME (another service's image), which
# read nothing of the host. Anything else is refused: oci-layout:// reads a host directory,
# and remote (git/https) contexts are not something DSpace uses.
def extra_context_ok: startswith("docker-image://") or startswith("service:") or in_roots;

# Only an absolute dockerfile, or one with "..", can point elsewhere than into its context
# (which is checked on its own).
def dockerfile_path($b):
  ($b.dockerfile // "") as $d
  | if $d == "" or (($b.dockerfile_inline // "") | set) then null
    elif ($d | startswith("/")) then $d
    elif ($d | split("/") | any(.[]; . == "..")) then ($b.context // "") + "/" + $d
    else null end;

def build_violations($w; $b):
  ($b | to_entries[] | select(.value | set) | select(.key | among(build_keys) | not)
    | "\($w): build \(.key)\(.value | show)"),
  (if ($b.context // "" | in_roots) then empty
   else "\($w): build context \($b.context // "(none)") is \(roots_text)" end),
  (dockerfile_path($b) as $d
   | if $d == null or ($d | in_roots) then empty
     else "\($w): build dockerfile \($b.dockerfile) is \(roots_text)" end),
  ($b.additional_contexts // {} | to_entries[] | select(.value | extra_context_ok | not)
    | "\($w): build additional_contexts \(.key)=\(.value) is "
      + (if .value | startswith("/") then roots_text
         else "not a directory under the build roots, docker-image:// or service:" end));

def volume_violations($name; $w; $model):
  ($model.volumes // {}) as $declared
  | [$home + "/compose/nginx.conf", $home + "/compose/nginx-https.conf"] as $nginx
  | .[] as $v
  | if ($v | type) != "object" then "\($w): volume \($v | tojson)"
    elif $v.type == "volume" then
      (if ($v.source // "") != "" and ($declared | has($v.source) | not)
       then "\($w): volume \($v.source) is not declared at the top level" else empty end)
    elif $v.type == "tmpfs" then empty
    # The proxy's configuration (ours, root-owned in the AMI), read-only, nothing else:
    # no propagation or SELinux relabelling options.
    elif $v.type == "bind" and $name == "dspace-proxy" and ($v.source | among($nginx))
      and $v.target == "/etc/nginx/conf.d/default.conf" and $v.read_only == true
      and ((($v.bind // {}) | with_entries(select(.value | set)) | keys) - ["create_host_path"] | length) == 0
    then empty
    else "\($w): \($v.type // "untyped") mount \($v.source // "") at \($v.target // "")"
      + (if $v.read_only == true then " (read-only)" else "" end)
    end;

def port_violations($name; $w):
  .[] as $p
  | if ($p | type) != "object" then "\($w): publishes port \($p | tostring)"
    elif $name == "dspace-proxy" and ($p.target | tostring) == "80"
      and (($p.published // "") | tostring) == "80"
      and (($p.host_ip // "") | among(["", "0.0.0.0", "::"]))
      and (($p.protocol // "tcp") == "tcp")
    then empty
    # HTTPS mode (compose/https.yml): the proxy behind Caddy, on loopback only.
    elif $name == "dspace-proxy" and ($p.target | tostring) == "80"
      and (($p.published // "") | tostring) == "8081" and ($p.host_ip // "") == "127.0.0.1"
      and (($p.protocol // "tcp") == "tcp")
    then empty
    else "\($w): publishes port \($p.published // "(random)")"
      + (if ($p.host_ip // "") != "" then " on \($p.host_ip)" else "" end)
      + " to \($p.target)/\($p.protocol // "tcp")"
    end;

def service_violations($name; $s; $model):
  "service \($name)" as $w
  | (if $name | among(preview_services) then empty
     else "\($w): not one of the services of a preview (\(preview_services | join(", ")))" end),
    ($s | to_entries[] | select(.value | set) | select(.key | startswith("x-") | not)
      | select(.key | among(service_keys) | not)
      | "\($w): \(.key)\(.value | show)"),
    (($s.security_opt // [])[] | select(test("^no-new-privileges([:=]true)?$") | not)
      | "\($w): security_opt \(.)"),
    (if [($s.deploy // {}) | .. | objects | .devices? | select(set)] | length > 0
     then "\($w): deploy devices" else empty end),
    (($s.volumes // []) | volume_violations($name; $w; $model)),
    (($s.networks // {}) | (if type == "array" then .[] else keys[] end)
      | select(among(["dspacenet", "default"]) | not) | "\($w): network \(.)"),
    (($s.ports // []) | port_violations($name; $w)),
    (if ($s.build | type) == "object" then build_violations($w; $s.build)
     elif ($s.build | set) then "\($w): build \($s.build | tojson)" else empty end);

def network_violations($project):
  to_entries[] | .key as $k | (.value // {}) as $n | "network \($k)" as $w
  | (if $k | among(["dspacenet", "default"]) then empty else "\($w): not allowed (only dspacenet)" end),
    (if ($n.driver // "bridge") == "bridge" then empty else "\($w): driver \($n.driver)" end),
    (if $n.external | set then "\($w): external" else empty end),
    # A bridge's options can change how it is exposed (routed mode, host binding address).
    (if $n.driver_opts | set then "\($w): driver_opts\($n.driver_opts | show)" else empty end),
    (if (($n.ipam // {}).driver // "default") == "default" then empty else "\($w): ipam driver \($n.ipam.driver)" end),
    # A non-external network named like an existing one ("host", "bridge") is joined as is.
    (if ($n.name // "") == "" or $n.name == "\($project)_\($k)" then empty else "\($w): name \($n.name)" end);

# Named volumes: Docker's own directories. A local-driver volume with driver_opts
# (type none, o bind, device /) is a bind mount in disguise; another driver or an external
# volume is something this check cannot see into.
def top_volume_violations:
  to_entries[] | .key as $k | (.value // {}) as $v | "volume \($k)" as $w
  | (if ($v.driver // "local") | among(["local", ""]) then empty else "\($w): driver \($v.driver)" end),
    (if $v.driver_opts | set then "\($w): driver_opts\($v.driver_opts | show)" else empty end),
    (if $v.external | set then "\($w): external" else empty end);

def violations:
  . as $model
  | (if type == "object" then empty else error("not a compose model") end),
    # configs and secrets (files or environment of the host handed to containers or builds)
    # are not used by DSpace: refused whole. Extension fields (x-*) are inert.
    (keys[] | select(among(["name", "services", "networks", "volumes"]) | not)
      | select(startswith("x-") | not) | select($model[.] | set) | . as $k
      | ($model[$k] | if type == "object" and length > 0 then keys[] else "" end)
      | "\($k)\(if . == "" then "" else " " + . end): not allowed"),
    (.services // {} | to_entries[] | service_violations(.key; .value // {}; $model)),
    (.networks // {} | network_violations($model.name // "")),
    (.volumes // {} | top_volume_violations);

# The build paths that passed the textual check, to resolve on disk.
def build_paths:
  .services // {} | to_entries[] | .key as $name | (.value.build // null)
  | select(type == "object") as $b
  | (($b.context // "") | select(in_roots) | [$name, "build context", .]),
    (($b.context // "") | select(in_roots) | ($b.dockerfile // "")
      | select(. != "" and (startswith("/") | not) and (split("/") | all(.[]; . != "..")))
      | [$name, "build dockerfile", ($b.context + "/" + .)]),
    (dockerfile_path($b) | select(. != null and startswith("/") and in_roots) | [$name, "build dockerfile", .]),
    ($b.additional_contexts // {} | to_entries[] | select(.value | in_roots)
      | [$name, "build additional_contexts \(.key)", .value]);

# env_file and label_file, from the render without interpolation.
def file_violations:
  def files: if type == "array" then map(if type == "object" then .path else . end) | join(",")
             elif type == "object" then .path else tostring end;
  .services // {} | to_entries[] | .key as $n | (.value // {})
  | ((.env_file // null) | select(set) | "service \($n): env_file \(files)"),
    ((.label_file // null) | select(set) | "service \($n): label_file \(files)");

(violations, ($raw[0] // {} | file_violations) | "violation\t" + .),
(build_paths | "path\t" + join("\t"))
