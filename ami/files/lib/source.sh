# shellcheck shell=bash
# Fetch and merge the sources of one side (backend = DSpace/DSpace, ui = dspace-angular).
# The AMI holds clones with the maintained branches, so a boot fetches only what changed.

BACKEND_SRC="$PREVIEW_SRC_DIR/DSpace"
UI_SRC="$PREVIEW_SRC_DIR/dspace-angular"
# What merge_side merged, per side: the PR head (or the branch commit) and the base commit it
# was merged into (the head itself for a branch). They name the side's build-cache image.
declare -A MERGED_HEAD=() MERGED_BASE=()

# A side is built from source when it has a PR or a branch; otherwise it runs from the
# published image of BASE_BRANCH.
side_built() { # backend|ui
  local pr branch
  pr="$(side_var "$1" PR)"; branch="$(side_var "$1" BRANCH)"
  [ -n "$pr" ] || [ -n "$branch" ]
}

side_var() { # side NAME -> value of BACKEND_NAME / UI_NAME
  local name
  name="$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')_$2"
  printf '%s' "${!name:-}"
}

side_dir() { if [ "$1" = backend ]; then printf '%s' "$BACKEND_SRC"; else printf '%s' "$UI_SRC"; fi; }

ensure_clone() { # side
  local dir repo
  dir="$(side_dir "$1")"; repo="$(side_var "$1" REPO)"
  if [ -d "$dir/.git" ]; then
    run git -C "$dir" remote set-url origin "$repo"
  else
    # Not a prepared AMI (or a new repo): a full clone costs minutes but still works.
    run git clone --no-checkout "$repo" "$dir" || fail fetch-failed "cannot clone $repo"
  fi
}

# Make sure origin/<branch> exists locally, fetching it when asked or when the AMI lacks it.
fetch_branch() { # dir branch always(0|1)
  if [ "$3" = 1 ] || ! git -C "$1" rev-parse -q --verify "refs/remotes/origin/$2^{commit}" >/dev/null; then
    run git -C "$1" fetch --no-tags origin "+refs/heads/$2:refs/remotes/origin/$2" ||
      fail fetch-failed "branch $2 not found in $(git -C "$1" remote get-url origin)"
  fi
}

fetch_side() { # side
  local side="$1" dir pr sha branch head
  dir="$(side_dir "$side")"; pr="$(side_var "$side" PR)"; sha="$(side_var "$side" SHA)"
  branch="$(side_var "$side" BRANCH)"
  ensure_clone "$side"
  fetch_branch "$dir" "$BASE_BRANCH" 1
  if [ -n "$branch" ]; then
    [ "$branch" = "$BASE_BRANCH" ] || fetch_branch "$dir" "$branch" 1
    return
  fi
  [ -n "$pr" ] || return 0
  fetch_pinned_base "$side"
  run git -C "$dir" fetch --no-tags origin "+refs/pull/$pr/head:refs/remotes/origin/pr/$pr" ||
    fail fetch-failed "$side PR #$pr not found"
  head="$(git -C "$dir" rev-parse "refs/remotes/origin/pr/$pr")"
  if [ -n "$sha" ] && [ "$head" != "$sha" ]; then
    # The PR moved after the preview was requested: build the commit that was asked for.
    log "$side PR #$pr head is now $head, building requested $sha"
    git -C "$dir" cat-file -e "$sha^{commit}" 2>/dev/null || run git -C "$dir" fetch --no-tags origin "$sha" ||
      fail fetch-failed "$side PR #$pr commit $sha is no longer available"
  fi
}

# The launch step pins the base commit of a cached build it found, so that this boot merges
# the very commits that image was built from (and so computes its tag). The base branch has
# usually moved on since: the commit may have to be fetched by its id.
fetch_pinned_base() { # side
  local dir base
  dir="$(side_dir "$1")"; base="$(side_var "$1" BASE_SHA)"
  [ -n "$base" ] || return 0
  git -C "$dir" cat-file -e "$base^{commit}" 2>/dev/null || run git -C "$dir" fetch --no-tags origin "$base" ||
    fail fetch-failed "$1 base commit $base (pinned by the launch step for the build cache) is not available"
}

# Check out the base (or the branch) and merge the PR into it. A conflict is a failure
# of its own kind: the PR must be rebased, nothing to retry. Any other failed merge (no
# common history, a broken object, a full disk) says what git said.
merge_side() { # side
  local side="$1" dir pr sha branch base target files out
  dir="$(side_dir "$side")"; pr="$(side_var "$side" PR)"; sha="$(side_var "$side" SHA)"
  branch="$(side_var "$side" BRANCH)"; base="refs/remotes/origin/${branch:-$BASE_BRANCH}"
  if [ -n "$pr" ] && [ -n "$(side_var "$side" BASE_SHA)" ]; then base="$(side_var "$side" BASE_SHA)"; fi
  run git -C "$dir" checkout -q -f -B preview "$base"
  run git -C "$dir" clean -qfdx
  MERGED_BASE[$side]="$(git -C "$dir" rev-parse "$base^{commit}")" || fail merge-failed "$side base $base is not a commit"
  MERGED_HEAD[$side]="${MERGED_BASE[$side]}"
  if [ -n "$pr" ]; then
    target="${sha:-refs/remotes/origin/pr/$pr}"
    # shellcheck disable=SC2034 # read by build_cache.sh
    MERGED_HEAD[$side]="$(git -C "$dir" rev-parse "$target^{commit}")" || fail merge-failed "$side PR #$pr: $target is not a commit"
    log "+ git -C $dir merge --no-edit --no-ff $target"
    if ! out="$(git -C "$dir" -c user.name=dspace-preview -c user.email=preview@localhost \
        merge --no-edit --no-ff "$target" 2>&1)"; then
      printf '%s\n' "$out"
      files="$(git -C "$dir" diff --name-only --diff-filter=U | head -n 10 | tr '\n' ' ')"
      git -C "$dir" merge --abort >/dev/null 2>&1 || true
      [ -z "$files" ] ||
        fail merge-conflict "$side PR #$pr does not merge cleanly into $BASE_BRANCH (${files% })"
      fail merge-failed "$side PR #$pr could not be merged into $BASE_BRANCH: $(last_line "$out")"
    fi
    printf '%s\n' "$out"
  fi
  git -C "$dir" rev-parse HEAD >"$PREVIEW_STATE_DIR/$side.commit"
  log "$side source at $(cat "$PREVIEW_STATE_DIR/$side.commit")"
}

# Does the backend's merged tree differ from the base in what dspace-solr is made of (Solr's
# configuration, dspace/solr/, and its Dockerfile)? Only then is it built; otherwise the
# published image of the base is the same. A PR compares with the commit it was merged into, a
# branch with the base's tip; if git cannot tell, Solr is built.
SOLR_PATHS=(dspace/solr/ dspace/src/main/docker/dspace-solr/)
solr_changed() {
  local from="${MERGED_BASE[backend]}" out
  [ -z "${BACKEND_BRANCH:-}" ] || from="refs/remotes/origin/$BASE_BRANCH"
  out="$(git -C "$BACKEND_SRC" diff --name-only "$from..HEAD" -- "${SOLR_PATHS[@]}")" || return 0
  [ -n "$out" ]
}

# The last non-empty line of a command's output, for a one-line failure reason.
last_line() { printf '%s\n' "$1" | sed '/^[[:space:]]*$/d' | tail -n 1; }

# The side that is not built runs today's published image of the base branch, so the
# backend checkout (which lends the build contexts and the project directory) is today's
# base too, not the branch as the AMI froze it.
checkout_base() { # side
  local dir
  dir="$(side_dir "$1")"
  ensure_clone "$1"
  fetch_branch "$dir" "$BASE_BRANCH" 1
  run git -C "$dir" checkout -q -f -B preview "refs/remotes/origin/$BASE_BRANCH"
}

# The compose files DSpace ships, taken from the BASE branch as fetched, never from the PR's
# tree: a PR may change its Dockerfile (the build runs in BuildKit's sandbox) but not which
# containers run or how (a `network_mode: host` service with / bound would own the host).
BASE_COMPOSE_DIR="$PREVIEW_STATE_DIR/compose-base"
extract_base_compose() {
  local ref="refs/remotes/origin/$BASE_BRANCH" f
  rm -rf "$BASE_COMPOSE_DIR"; mkdir -p "$BASE_COMPOSE_DIR"
  for f in docker-compose.yml dspace/src/main/docker-compose/db.entities.yml; do
    git -C "$BACKEND_SRC" show "$ref:$f" >"$BASE_COMPOSE_DIR/${f##*/}" ||
      fail fetch-failed "$BASE_BRANCH has no $f in $(git -C "$BACKEND_SRC" remote get-url origin)"
  done
  log "compose files from $BASE_BRANCH at $(git -C "$BACKEND_SRC" rev-parse "$ref")"
}
