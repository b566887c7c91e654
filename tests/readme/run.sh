#!/usr/bin/env bash
# The README's two commands, run as a newcomer runs them. Prints one line per check and then
#   readme: N passed, N failed
#
#   run-command   `make run` exactly as the README writes it, from the top of the clone: it starts, its socket
#                 answers `lpctl status`, and SIGINT to the daemon ends it with exit 0 (make's too).
#   setup-empty-lists
#                 scripts/setup.sh (the first step of `make check`) on a machine whose apt package lists are
#                 empty, as on a fresh Debian before any `apt-get update`: APT_CONFIG points apt's
#                 Dir::State::Lists at an empty directory. It must update once and go on, not exit 100.
#
# Usage: bash tests/readme/run.sh [NAME...]   (default: all). Root only: `make run` as root uses the real
# socket path, and setup.sh installs packages.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
passed=0; failed=0
work=$(mktemp -d /tmp/lpa-readme.XXXXXX)
trap 'rm -rf "$work"' EXIT

pass() { echo "PASS  $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; [ -n "${3:-}" ] && sed 's/^/      /' "$3" | tail -n 20; failed=$((failed + 1)); }

# The command as the README has it (the first line of its sh block that starts with "make run").
readme_command() {
  awk '/^```sh/ { inblock = 1; next } /^```/ { inblock = 0 }
       inblock && /^make run( |$)/ { sub(/ *#.*/, ""); print; exit }' README.md
}

test_run_command() {
  local name=run-command cmd log=$work/run.log socket=/run/livepatchd/livepatchd.sock pid daemon rc i
  cmd=$(readme_command)
  [ "$cmd" = "make run" ] || { fail $name "README has no 'make run' line (found '$cmd')"; return; }
  [ "$(id -u)" = 0 ] || { fail $name "needs root: as root the README's command serves on $socket"; return; }
  # Job control gives the command a process group of its own, as a terminal would, and keeps SIGINT
  # deliverable: a non-interactive shell starts background jobs with SIGINT ignored, and that would be inherited.
  set -m
  $cmd > "$log" 2>&1 &
  pid=$!
  set +m
  for ((i = 0; i < 600; i++)); do # publish may rebuild: allow 5 minutes
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"; fail $name "'$cmd' exited with $? before serving" "$log"; return
    fi
    if grep -q 'serving gRPC on' "$log" && [ -S "$socket" ]; then break; fi
    sleep 0.5
  done
  if ! artifacts/bin/lpctl status > "$work/status.txt" 2>&1; then
    kill -INT -- "-$pid" 2>/dev/null; wait "$pid"
    fail $name "lpctl status did not answer on $socket" "$work/status.txt"; return
  fi
  grep -q '^Kernel: *'"$(uname -r)" "$work/status.txt" ||
    { kill -INT -- "-$pid"; wait "$pid"; fail $name "lpctl status does not name this kernel" "$work/status.txt"; return; }
  daemon=$(pgrep -g "$pid" -x livepatchd)
  [ -n "$daemon" ] || { kill -INT -- "-$pid"; wait "$pid"; fail $name "no livepatchd in the command's process group"; return; }
  kill -INT "$daemon"
  wait "$pid"; rc=$?
  [ "$rc" = 0 ] || { fail $name "'$cmd' exited $rc after SIGINT to livepatchd (expected 0)" "$log"; return; }
  grep -q 'livepatchd stopping' "$log" || { fail $name "the daemon did not log its orderly stop" "$log"; return; }
  [ ! -e "$socket" ] || { fail $name "the socket $socket is left behind after the stop"; return; }
  pass $name
}

test_setup_empty_lists() {
  local name=setup-empty-lists log=$work/setup.log rc
  [ "$(id -u)" = 0 ] || { fail $name "needs root (setup.sh updates apt lists)"; return; }
  mkdir -p "$work/lists/partial"
  printf 'Dir::State::Lists "%s/lists/";\n' "$work" > "$work/apt.conf"
  # Prove the premise: apt knows no package with these lists.
  if APT_CONFIG=$work/apt.conf apt-cache depends linux-image-amd64 > /dev/null 2>&1; then
    fail $name "apt-cache still resolves linux-image-amd64 with empty lists: the premise does not hold"; return
  fi
  APT_CONFIG=$work/apt.conf bash scripts/setup.sh > "$log" 2>&1; rc=$?
  [ "$rc" = 0 ] || { fail $name "setup.sh exited $rc with empty apt lists" "$log"; return; }
  grep -q '^setup: apt-get update' "$log" || { fail $name "setup.sh did not update the empty lists" "$log"; return; }
  grep -Eq 'kernel headers for [0-9]' "$log" || { fail $name "setup.sh did not resolve the kernel release" "$log"; return; }
  pass $name
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(run-command setup-empty-lists)
for t in "${want[@]}"; do
  case $t in
    run-command) test_run_command ;;
    setup-empty-lists) test_setup_empty_lists ;;
    *) fail "$t" "no such check" ;;
  esac
done
cd "$top"
echo "readme: $passed passed, $failed failed"
[ "$failed" = 0 ]
