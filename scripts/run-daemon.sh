#!/usr/bin/env bash
# Starts livepatchd in the foreground against this machine's kernel. As root it uses the real paths; as any
# other user it keeps its socket and state under .run/ (git-ignored) so it needs no privileges.
set -euo pipefail
bin=${1:-artifacts/bin}; rundir=${2:-.run}
# The rest of the arguments are settings for livepatchd (Section:Key=value ...); the first two were ours.
shift $(( $# < 2 ? $# : 2 ))
if [[ $(id -u) -eq 0 && -z ${LIVEPATCHD_DEV:-} ]]; then
  socket=/run/livepatchd/livepatchd.sock; state=/var/lib/livepatchd
else
  mkdir -p "$rundir"; socket=$(realpath "$rundir")/livepatchd.sock; state=$(realpath "$rundir")/state
fi
mkdir -p "$state"
cat <<EOT
livepatchd is starting in the foreground (Ctrl-C stops it). In another terminal:

    $bin/lpctl --socket $socket status
    $bin/lpctl --socket $socket list
    $bin/lpctl --socket $socket watch

EOT
exec "$bin/livepatchd" --socket "$socket" --state-dir "$state" --no-dbus "$@"
