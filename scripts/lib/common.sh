# shellcheck shell=bash
# scripts/lib/common.sh -- helpers shared by start_live_trading.sh, stop_live_trading.sh and
# emergency_stop.sh. Sourced, never run. The caller sets prog, script_dir, repo_root, unit
# and (for use_systemd) mode before calling them.
# shellcheck disable=SC2154  # prog, repo_root, unit and mode are the caller's
say() { printf '%s: %s\n' "$prog" "$*"; }
warn() { printf '%s: WARNING: %s\n' "$prog" "$*" >&2; }
die() { # die EXIT_CODE MESSAGE...
    local code=$1
    shift
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit "$code"
}

usage_error() {
    printf '%s: %s (see --help)\n' "$prog" "$*" >&2
    exit 2
}

default_config() {
    if [[ -n "${TRADD_CONFIG:-}" ]]; then
        printf '%s\n' "$TRADD_CONFIG"
    elif [[ -f /etc/tradd/tradd.toml ]]; then
        printf '%s\n' /etc/tradd/tradd.toml
    else
        printf '%s\n' "$repo_root/etc/tradd.toml"
    fi
}

find_bin() { # find_bin NAME -> absolute path of the tradd/tradctl executable
    local name=$1
    if [[ -n "${TRADD_BIN:-}" ]]; then
        [[ -x "$TRADD_BIN/$name" ]] || die 1 "$TRADD_BIN/$name is not executable (TRADD_BIN)"
        printf '%s\n' "$TRADD_BIN/$name"
    elif [[ -x "$repo_root/.venv/bin/$name" ]]; then
        printf '%s\n' "$repo_root/.venv/bin/$name"
    else
        command -v "$name" || die 1 "$name not found: install tradd or set TRADD_BIN"
    fi
}

use_systemd() { # true when the daemon is (to be) managed by systemd
    case "$mode" in
    systemd) return 0 ;;
    daemon) return 1 ;;
    *) [[ -d /run/systemd/system ]] && systemctl cat "$unit" >/dev/null 2>&1 ;;
    esac
}

unit_property() { # unit_property NAME -> the unit's value, empty if unknown
    systemctl show -p "$1" --value "$unit" 2>/dev/null || true
}

import_unit_environment() {
    # tradd's own commands (config check, flatten-account) must see what the service
    # sees: its working directory, its TRADD_* Environment= and its EnvironmentFile=
    # (secrets; readable by root and group tradd). The caller's own variables win.
    local workdir item envfile key
    local -a assignments=()
    workdir=$(unit_property WorkingDirectory)
    workdir=${workdir#[-!]}
    if [[ -n "$workdir" && -d "$workdir" ]]; then cd "$workdir" || exit 1; fi
    read -ra assignments <<<"$(unit_property Environment)"
    for item in "${assignments[@]}"; do
        key=${item%%=*}
        if [[ "$key" == TRADD_* && -z "${!key+set}" ]]; then export "${item?}"; fi
    done
    envfile=$(unit_property EnvironmentFiles)
    envfile=${envfile%% *}
    if [[ -n "$envfile" && -r "$envfile" ]]; then load_env_file "$envfile"; fi
}

load_env_file() { # KEY=VALUE lines, # comments, optional quotes; no shell evaluation
    local line key value
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?(TRADD_[A-Za-z0-9_]+)=(.*)$ ]] || continue
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
        if [[ -z "${!key+set}" ]]; then export "$key=$value"; fi
    done <"$1"
}

pid_alive() { # pid_alive PID: exists and is not a zombie
    local pid=$1 stat
    kill -0 "$pid" 2>/dev/null || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    stat=${stat##*) }
    [[ "${stat%% *}" != Z ]]
}

lock_held() { # lock_held PIDFILE: a live daemon holds the PID file's flock
    local pidfile=$1 pid rc=0
    [[ -e "$pidfile" ]] || return 1
    if command -v flock >/dev/null 2>&1; then
        flock -n -E 99 "$pidfile" true 2>/dev/null || rc=$?
        ((rc == 99)) && return 0 # someone holds it
        ((rc == 0)) && return 1  # we could take it: nobody does
    fi
    pid=$(tr -dc 0-9 <"$pidfile" 2>/dev/null) || true # no flock, or the file is unreadable
    [[ -n "$pid" ]] && pid_alive "$pid"
}
