#!/usr/bin/env bash
# The fleet boot of the e2e bed: a scenario with the header "# boot: fleet" runs on the HOST, against two systemd
# guests booted from the cached image of lib/sysboot.sh, each through a qcow2 overlay of its own, reachable over
# ssh on 127.0.0.1 through QEMU user-mode port forwards. Sourced after lib/sysboot.sh.
#
# Each guest gets the run's ssh public key through its pkg share: guest/sysboot.sh sees E2E_FLEET=1 in e2e.env,
# installs the key for root, gives the guest a static address on QEMU's user network (systemd-networkd) and starts
# sshd, then stays up. The host runs the scenario (bash, with guest/lib.sh's check helpers) once both answer on
# ssh, then powers the guests off. The scenario's checks, failures and result go to DIR/results like a guest's.

E2E_FLEET_HOSTS=(guest1 guest2)

# _fleet_free_port: a TCP port on 127.0.0.1 that nothing listens on now.
_fleet_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fleet_ssh HOST CMD...: run CMD as root on guest HOST (a name of E2E_FLEET_HOSTS).
fleet_ssh() {
  local host=$1
  shift
  ssh -q -i "$FLEET_DIR/ssh/id" -p "$(cat "$FLEET_DIR/$host/port")" -o BatchMode=yes -o ConnectTimeout=10 \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 "$@"
}

# fleet_run NAME DIR TIMEOUT DEB ACCEL_ARG...: boot the guests, run scenario NAME on the host, stop the guests.
# Console logs in DIR/<host>/console.log; the scenario's results in DIR/results. Returns 0 when it passed.
fleet_run() {
  local name=$1 dir=$2 tmo=$3 deb=$4 host port deadline rc status passed failed
  shift 4
  [ -n "$TB_SYSIMAGE" ] || e2e_die "fleet: the image was not prepared"
  mkdir -p "$dir/results" "$dir/ssh"
  export E2E_OUT=$dir/results FLEET_DIR=$dir
  if [ ! -f "$deb" ]; then
    echo "no livepatchd .deb to install (make deb, or run.sh --deb FILE)" >> "$dir/results/failures"
    return 1
  fi
  ssh-keygen -q -t ed25519 -N '' -C "livepatchagent-e2e-$name" -f "$dir/ssh/id"
  local -A qemu_pid=()
  for host in "${E2E_FLEET_HOSTS[@]}"; do
    mkdir -p "$dir/$host/pkg" "$dir/$host/results"
    cp "$dir/ssh/id.pub" "$dir/$host/pkg/authorized_keys"
    printf 'E2E_FLEET=1\nE2E_BOOT=1\nE2E_AFTER=poweroff\n' > "$dir/$host/pkg/e2e.env"
    port=$(_fleet_free_port)
    echo "$port" > "$dir/$host/port"
    qemu-img create -q -f qcow2 -b "$TB_SYSIMAGE/root.img" -F raw "$dir/$host/disk.qcow2"
    qemu_boot "$TB_VMLINUZ" "$TB_SYSIMAGE/initrd.img" "$dir/$host/results" "$tmo" "root=/dev/vda rw" "$@" \
      -drive "file=$dir/$host/disk.qcow2,if=virtio,format=qcow2" \
      -virtfs "local,path=$dir/$host/pkg,mount_tag=pkg,security_model=none,readonly=on,id=pkg" \
      -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0 \
      > "$dir/$host/console.log" 2>&1 &
    qemu_pid[$host]=$!
  done
  # Both boot at once (TCG: a systemd boot takes one to two minutes).
  deadline=$((SECONDS + tmo / 2))
  for host in "${E2E_FLEET_HOSTS[@]}"; do
    until fleet_ssh "$host" true 2> /dev/null; do
      if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "${qemu_pid[$host]}" 2> /dev/null; then
        echo "fleet: $host did not answer on ssh (port $(cat "$dir/$host/port")) within $((tmo / 2)) s" >> "$dir/results/failures"
        break 2
      fi
      sleep 3
    done
  done
  rc=0
  if [ ! -s "$dir/results/failures" ]; then
    e2e_msg "fleet: ${E2E_FLEET_HOSTS[*]} answer on ssh after ${SECONDS}s of the run"
    FLEET_INVENTORY=$dir/inventory.ini
    {
      echo "[fleet]"
      for host in "${E2E_FLEET_HOSTS[@]}"; do
        echo "$host ansible_host=127.0.0.1 ansible_port=$(cat "$dir/$host/port")"
      done
      echo
      echo "[fleet:vars]"
      echo "ansible_user=root"
      echo "ansible_ssh_private_key_file=$dir/ssh/id"
      echo "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'"
      echo "ansible_python_interpreter=/usr/bin/python3"
    } > "$FLEET_INVENTORY"
    export FLEET_INVENTORY FLEET_DEB=$deb
    FLEET_MODULES=$(modules_dir "$TB_KV")
    export FLEET_MODULES
    # The scenario in a subshell of its own, so that its "exit" ends only it, with the guests' check helpers
    # (check, check_contains, json, pass, fail, abort: they write to $E2E_OUT and $E2E_WORK, both in DIR).
    (
      export E2E_WORK=$dir/work
      # shellcheck source=/dev/null # guest/lib.sh (a POSIX sh library, checked on its own)
      source "$E2E_DIR/guest/lib.sh"
      # shellcheck source=/dev/null # the scenario file
      source "$E2E_DIR/scenarios/$name.sh"
    ) > "$dir/scenario.log" 2>&1 || rc=$?
  fi
  for host in "${E2E_FLEET_HOSTS[@]}"; do
    fleet_ssh "$host" 'journalctl -b --no-pager -o short-monotonic' > "$dir/$host/journal.txt" 2>&1 || true
    fleet_ssh "$host" 'systemctl poweroff' > /dev/null 2>&1 || true
  done
  for host in "${E2E_FLEET_HOSTS[@]}"; do
    deadline=$((SECONDS + 60))
    while kill -0 "${qemu_pid[$host]}" 2> /dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 1; done
    if kill -0 "${qemu_pid[$host]}" 2> /dev/null; then
      pkill -TERM -P "${qemu_pid[$host]}" 2> /dev/null || true
    fi
    wait "${qemu_pid[$host]}" 2> /dev/null || true
    rm -f "$dir/$host/disk.qcow2"
  done
  passed=$(grep -c '^PASS: ' "$dir/results/checks" 2> /dev/null || true)
  failed=$(grep -c '^FAIL: ' "$dir/results/checks" 2> /dev/null || true)
  status=0
  if [ -s "$dir/results/failures" ] && [ "${failed:-0}" = 0 ]; then
    status=1
  elif [ "$rc" != 0 ]; then
    status=1
    echo "scenario exited with status $rc" >> "$dir/results/failures"
  elif [ "${failed:-0}" != 0 ]; then
    status=1
  elif [ "${passed:-0}" = 0 ]; then
    status=1
    echo "scenario ran no checks" >> "$dir/results/failures"
  fi
  cat "$dir"/guest*/console.log > "$dir/console.log" 2> /dev/null || true
  printf 'rc=%s\npassed=%s\nfailed=%s\nstatus=%s\n' "$rc" "${passed:-0}" "${failed:-0}" "$status" > "$dir/results/result"
  [ "$status" = 0 ]
}
