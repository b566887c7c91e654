#!/usr/bin/env bash
# Shared host-side helpers of the e2e test bed: cache location, locking, hashing, timing, messages.
# Sourced by run.sh, demo.sh and the other lib/*.sh files; defines functions and variables only.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)

# The cache lives outside the clone so a fresh clone on the same machine reuses the kernel and builds.
E2E_CACHE=${LIVEPATCHAGENT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/var/tmp}/.cache}/livepatchagent}

e2e_msg() { printf 'e2e: %s\n' "$*" >&2; }
e2e_die() { printf 'e2e: error: %s\n' "$*" >&2; exit 1; }

# Microseconds since the epoch, from bash itself (no fork); used for step timings.
e2e_now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# e2e_elapsed START_US -> "12.3s"
e2e_elapsed() {
  local d=$(( $(e2e_now_us) - $1 ))
  printf '%d.%ds' $((d / 1000000)) $(((d / 100000) % 10))
}

# e2e_with_lock NAME CMD...: run CMD holding an exclusive lock in the cache, so that two runs sharing a cache
# (two CI jobs, or run.sh and demo.sh) never build or extract the same thing at the same time.
e2e_with_lock() {
  local name=$1; shift
  mkdir -p "$E2E_CACHE/locks"
  (
    flock 9
    "$@"
  ) 9> "$E2E_CACHE/locks/$name.lock"
}

# e2e_hash_inputs ITEM...: a short, stable hash of the given files (by content) and literal strings.
# Directories are hashed file by file in sorted order. Used as cache keys.
e2e_hash_inputs() {
  local item
  for item in "$@"; do
    if [ -d "$item" ]; then
      (cd "$item" && find . -type f ! -name '*.o' ! -name '.*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    elif [ -f "$item" ]; then
      sha256sum < "$item"
    else
      printf 'str:%s\n' "$item"
    fi
  done | sha256sum | cut -c1-16
}
