# shellcheck shell=bash
# The compose policy: before `docker compose up`, the boot renders the whole compose model
# (DSpace's files of the base branch, ours, the overrides) and refuses it unless it fits an
# allowlist. Why, when none of those files come from the PR: the model is what Docker will
# do as root on the instance, and a base branch that changes shape, a file of ours that
# stops overriding what it should (an old Compose ignoring !override/!reset), or anything a
# compose file pulls in (include, extends) would otherwise reach the host silently. One
# privileged container, host namespace, host bind or host-networked build is enough to get
# the instance role's credentials (IMDS), the Docker socket, or the root filesystem.
#
# The rules are in ../compose/policy.jq (jq is on the AMI; there is no python). They read
# the model as Compose renders it (`config --format json`): absolute paths, long syntax for
# ports and mounts, `..` already resolved. Two things the model cannot show are checked here:
#  - env_file / label_file: Compose reads those files (as root, at render time) and inlines
#    their lines into `environment`/`labels`; the rendered model has no trace of them. A
#    render with --no-interpolate keeps the key, so compose_policy_check makes both renders.
#  - symlinks: a path can be inside the checkout by name and resolve outside it (the merged
#    tree is the PR's: `dspace/solr -> /` would hand the host's files to the PR's build).
#    Build paths are resolved with realpath and must stay inside the resolved roots.
# Inputs from the environment: PREVIEW_HOME (our files; the proxy's nginx.conf is the one
# bind mount allowed), BACKEND_SRC and UI_SRC (the only build roots; either may be empty).
# COMPOSE_POLICY_JQ overrides the program's path (tests).

# A root without trailing slashes; "" for unset, relative or "/" (which would allow all).
compose_policy_root() {
  local r="$1"
  while [ "${#r}" -gt 1 ] && [ "${r%/}" != "$r" ]; do r="${r%/}"; done
  case "$r" in /?*) printf '%s' "$r" ;; esac
}

# compose_policy_violations MODEL_JSON [RAW_MODEL_JSON]: prints one line per violation
# ("service dspacedb: privileged") and returns 1 if there is any, else 0. RAW_MODEL_JSON is
# the same model rendered with --no-interpolate (for env_file/label_file); without it those
# two are not checked. An unreadable model is a violation (fail closed).
compose_policy_violations() {
  local model="$1" raw="${2:-/dev/null}" prog="${COMPOSE_POLICY_JQ:-${PREVIEW_HOME:-}/compose/policy.jq}"
  local backend ui lines line out="" svc what path real root rroot inside
  backend="$(compose_policy_root "${BACKEND_SRC:-}")"
  ui="$(compose_policy_root "${UI_SRC:-}")"
  if ! lines="$(jq -r --arg home "$(compose_policy_root "${PREVIEW_HOME:-}")" \
    --arg backend "$backend" --arg ui "$ui" --slurpfile raw "$raw" -f "$prog" "$model" 2>&1)"; then
    printf 'compose model %s: cannot be checked: %s\n' "$model" "$(printf '%s' "$lines" | head -n 1)"
    return 1
  fi
  # Every line that is not a build path is a violation, prefixed or not (a value with a
  # newline in it splits a line; what follows the split is refused too).
  while IFS= read -r line; do
    case "$line" in
      "") ;;
      path$'\t'*)
        IFS=$'\t' read -r _ svc what path <<<"$line"
        # Inside a root by name; must be inside it with symlinks resolved too.
        real="$(realpath -m -- "$path" 2>/dev/null)" || real=""
        inside=no
        for root in "$backend" "$ui"; do
          [ -n "$root" ] || continue
          rroot="$(realpath -m -- "$root" 2>/dev/null)" || continue
          [ "$rroot" != / ] || continue
          case "$real" in "$rroot" | "$rroot"/*) inside=yes ;; esac
        done
        [ "$inside" = yes ] ||
          out+="service $svc: $what $path resolves to ${real:-nothing}, outside the build roots"$'\n'
        ;;
      *) out+="${line#violation$'\t'}"$'\n' ;;
    esac
  done <<<"$lines"
  [ -z "$out" ] && return 0
  printf '%s' "$out"
  return 1
}

# compose_policy_check DIR COMPOSE_COMMAND...: renders the model with COMPOSE_COMMAND (a
# compose invocation without its subcommand, e.g. `docker compose -p preview
# --project-directory SRC --env-file ENV -f a.yml -f b.yml`) into DIR/compose-model.json
# and, without interpolation, DIR/compose-model.raw.json, then checks both. Prints the
# violations (or the renderer's error); returns 0 if the model may be started, else 1.
# Run it with the same environment and files as `up`: what is checked is what starts.
compose_policy_check() {
  local dir="$1"; shift
  local model="$dir/compose-model.json" raw="$dir/compose-model.raw.json"
  local pid rc=0
  # Both renders at once (each is a fraction of a second).
  "$@" config --no-interpolate --format json >"$raw" 2>"$dir/compose-model.raw.err" &
  pid=$!
  "$@" config --format json >"$model" 2>"$dir/compose-model.err" || rc=1
  wait "$pid" || rc=1
  if [ "$rc" -ne 0 ]; then
    printf 'compose model cannot be rendered: %s\n' \
      "$(cat "$dir/compose-model.err" "$dir/compose-model.raw.err" | tail -n 3)"
    return 1
  fi
  compose_policy_violations "$model" "$raw"
}
