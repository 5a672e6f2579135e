# shellcheck shell=bash
# Sourced by every provisioning script; the recipe uploads it to the build instance as
# /tmp/dspace-preview-common.sh, next to ami/files.
#
# Dry run: with PREVIEW_DRY_RUN non-empty in the instance's environment, a script prints the
# variables it received and what it would install, write or run, and changes nothing: each
# command that changes the machine or fetches anything goes through `run` or `write`. The
# recipe never sets it; the recipe's test (ami/tests/packer_build.sh) sets it on its stand-in
# instances, so that the real `packer build` runs the real scripts without installing anything.
# Without it the scripts behave exactly as if `run` and `write` were not there.

dry() { [ -n "${PREVIEW_DRY_RUN:-}" ]; }

# begin NAME [VAR...]: the start of script NAME. In a dry run: xtrace off (the lines below say
# what happens), and one line per VAR with its value (one holding a token only as <set>).
begin() {
  SCRIPT="$1"
  shift
  dry || return 0
  set +x
  say start
  local var
  for var in "$@"; do
    case "$var" in
      *TOKEN*) if [ -n "${!var:-}" ]; then say "$var=<set>"; else say "$var="; fi ;;
      *) say "$var=${!var-}" ;;
    esac
  done
}

# say TEXT: one line of the dry run's report.
say() { printf 'dry run: %s: %s\n' "${SCRIPT:-?}" "$*"; }
# note TEXT: said in a dry run only.
note() { if dry; then say "$*"; fi; }

# run CMD...: run it; in a dry run, print it instead.
run() {
  if dry; then say "would run:$(printf ' %q' "$@")"; else "$@"; fi
}

# write [-a] FILE: stdin into FILE (-a: appended to it); in a dry run, print it instead.
write() {
  local append=""
  if [ "$1" = -a ]; then append=1; shift; fi
  if dry; then
    if [ -n "$append" ]; then say "would append to $1:"; else say "would write $1:"; fi
    sed "s|^|dry run: $SCRIPT: |"
  elif [ -n "$append" ]; then
    cat >>"$1"
  else
    cat >"$1"
  fi
}

# Dockerfiles (read only).

# arg_default DOCKERFILE NAME: the value of `ARG NAME=value`.
arg_default() { sed -n "s/^ARG $2=//p" "$1" | head -n 1; }

# base_images [DOCKERFILE]: the images a Dockerfile (or stdin) builds FROM, with the defaults
# of its global ARGs substituted: `ARG SOLR_VERSION=9.8` then `FROM docker.io/solr:${SOLR_VERSION}`
# gives docker.io/solr:9.8. Neither scratch nor an earlier stage; an ARG without a default is
# reported on stderr and its FROM left out.
base_images() {
  awk '
    toupper($1) == "ARG" && !from {
      for (f = 2; f <= NF; f++) {
        eq = index($f, "=")
        if (eq == 0) continue
        v = substr($f, eq + 1)
        gsub(/^"|"$/, "", v)
        arg[substr($f, 1, eq - 1)] = v
      }
      next
    }
    toupper($1) == "FROM" {
      from = 1
      i = 2
      while ($i ~ /^--/) i++
      image = $i
      resolved = ""
      ok = 1
      while (match(image, /[$][{]?[A-Za-z_][A-Za-z0-9_]*[}]?/)) {
        name = substr(image, RSTART, RLENGTH)
        gsub(/[${}]/, "", name)
        if (!(name in arg)) { print "no default for ARG " name " in FROM " $i > "/dev/stderr"; ok = 0 }
        resolved = resolved substr(image, 1, RSTART - 1) arg[name]
        image = substr(image, RSTART + RLENGTH)
      }
      image = resolved image
      if (ok && image != "scratch" && !(image in stage)) print image
      if (tolower($(i + 1)) == "as") stage[$(i + 2)] = 1
    }' "$@"
}
