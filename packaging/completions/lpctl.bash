# bash completion for lpctl(1), the client of livepatchd.            -*- shell-script -*-
# Static: it never runs lpctl or calls the daemon. A unit test (CompletionAndManPageTests) fails when a
# command or option of lpctl's parser is missing here.
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)) is the bash-completion idiom; the words have no spaces

_lpctl() {
  local cur prev words cword
  _init_completion || return

  local commands="status check list info verify load unload install uninstall apply blocking revert force kick operations wait cancel history cves uname metrics health quarantine watch"
  local global_opts="--socket -o --output --help -h -? --version"

  case $prev in
    --socket)
      _filedir
      return
      ;;
    -o | --output)
      COMPREPLY=($(compgen -W 'table json' -- "$cur"))
      return
      ;;
    --meta)
      _filedir json
      return
      ;;
    --kernel)
      COMPREPLY=($(compgen -W "$(uname -r) $(command ls /var/lib/livepatchd/patches 2> /dev/null)" -- "$cur"))
      return
      ;;
    --timeout | -n | --count)
      return
      ;;
  esac

  # The command is the first word that is not an option or an option's value.
  local i command=
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      --socket | -o | --output) ((i++)) ;;
      -*) ;;
      *)
        command=${words[i]}
        break
        ;;
    esac
  done

  if [[ -z $command ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return
  fi

  local opts=
  case $command in
    status) opts= ;;
    check) opts= ;;
    list) opts="--installed --all-kernels" ;;
    info) opts= ;;
    verify) opts= ;;
    load) opts="--no-wait --timeout" ;;
    unload) opts="--timeout" ;;
    install) opts="--kernel --meta --cve --replace --now --timeout" ;;
    uninstall) opts="--kernel" ;;
    apply) opts="--resume --timeout" ;;
    blocking) opts="--no-stacks" ;;
    revert) opts="--timeout" ;;
    force) opts="--yes" ;;
    kick) opts= ;;
    operations) opts="--running" ;;
    wait) opts= ;;
    cancel) opts= ;;
    history) opts="--since --limit --patch" ;;
    cves) opts="--state --severity" ;;
    uname) opts="-a --all -s --kernel-name -n --nodename -r --kernel-release -v --kernel-version -m --machine -p --processor -i --hardware-platform --operating-system" ;;
    metrics) opts= ;;
    health) opts= ;;
    quarantine) opts= ;;
    watch) opts="-n --count --timeout" ;;
  esac

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts --socket -o --output --help" -- "$cur"))
    return
  fi

  case $command in
    verify | load | install)
      # Live patch modules, also compressed ones (install).
      _filedir '@(ko|ko.gz|ko.xz|ko.zst)'
      ;;
    info | unload | blocking | revert | force | kick)
      # Patch names: what the kernel has registered now (readable by everyone).
      COMPREPLY=($(compgen -W "$(command ls /sys/kernel/livepatch 2> /dev/null)" -- "$cur"))
      ;;
    uninstall)
      COMPREPLY=($(compgen -W "$(command ls "/var/lib/livepatchd/patches/$(uname -r)" 2> /dev/null | sed -n 's/\.json$//p')" -- "$cur"))
      ;;
    quarantine)
      # list, or release NAME: the names come from `lpctl quarantine list` (asked only here, and only quickly).
      if [[ ${words[cword - 1]} == release ]]; then
        COMPREPLY=($(compgen -W "$(timeout 2 lpctl quarantine list 2> /dev/null | awk 'NR > 1 { print $1 }')" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "list release" -- "$cur"))
      fi
      ;;
    wait | cancel)
      # Operation ids: the running ones, as lpctl lists them (the daemon is asked only here, and only quickly).
      COMPREPLY=($(compgen -W "$(timeout 2 lpctl operations --running 2> /dev/null | awk 'NR > 1 { print $1 }')" -- "$cur"))
      ;;
  esac
} &&
  complete -F _lpctl lpctl

# ex: filetype=sh
