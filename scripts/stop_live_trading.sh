#!/usr/bin/env bash
# stop_live_trading.sh -- stop tradd (and its web console) gracefully (bounded), SIGKILL as
# the last resort.
set -euo pipefail

usage() {
    cat <<EOF
Usage: ${0##*/} [--pidfile PATH] [--timeout SECONDS] [--mode MODE] [--config PATH]

Stop the web console, if running, then the tradd daemon. The supervisor stops every
worker gracefully (working orders are cancelled; positions are kept unless a strategy
says flatten_on_stop). To close positions first, use emergency_stop.sh --stop. The
console's research jobs run in processes of their own and go on.

  under systemd     \`systemctl stop tradd-web.service\` when it is active, then
                    \`systemctl stop tradd.service\` (systemd waits TimeoutStopSec=, then
                    kills); reports whether it stopped cleanly
  without systemd   the console started by \`start_live_trading.sh --web\` (the PID in
                    tradd-web.pid beside the daemon's PID file): SIGTERM, wait up to
                    --timeout seconds (SIGKILL after), report; then the daemon: SIGTERM
                    to the PID in the PID file, wait up to --timeout seconds, then
                    SIGKILL to it and its workers

A PID file whose lock nobody holds is stale (the daemon already exited): nothing is
signalled, so a recycled PID is never killed. Likewise the console's PID is signalled
only while that process is still \`tradd web\` (its command line says so).

Options:
  --pidfile PATH     PID file (default: \$TRADD_PIDFILE, else state/tradd.pid in this
                     repository)
  --timeout SECONDS  grace period before SIGKILL without systemd (default: 90, more than
                     supervisor.stop_timeout)
  --mode MODE        auto (default, \$TRADD_MODE), systemd or daemon
  --config PATH      accepted for symmetry with the other scripts; not needed to stop
  -h, --help         this text

Environment: TRADD_UNIT (default tradd.service), TRADD_WEB_UNIT (default
tradd-web.service).

Exit status: 0 stopped cleanly or was not running; 1 the daemon or the console had to be
killed, or did not stop; 2 usage.
EOF
}

# --- shared helpers (say, warn, die, find_bin, use_systemd, ...): scripts/lib/common.sh
# shellcheck disable=SC2034  # prog, unit: read by the helpers
prog=${0##*/}
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(dirname "$script_dir")
unit=${TRADD_UNIT:-tradd.service}
web_unit=${TRADD_WEB_UNIT:-tradd-web.service}
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$script_dir/lib/common.sh"

pidfile=${TRADD_PIDFILE:-$repo_root/state/tradd.pid}
timeout=90
mode=${TRADD_MODE:-auto}

while (($#)); do
    case "$1" in
    -h | --help) usage && exit 0 ;;
    --config | --pidfile | --timeout | --mode)
        (($# >= 2)) || usage_error "$1 needs a value"
        case "$1" in
        --pidfile) pidfile=$2 ;;
        --timeout) timeout=$2 ;;
        --mode) mode=$2 ;;
        esac
        shift
        ;;
    *) usage_error "unknown argument '$1'" ;;
    esac
    shift
done
[[ "$timeout" =~ ^[0-9]+$ ]] || usage_error "--timeout must be whole seconds, not '$timeout'"
[[ "$mode" =~ ^(auto|systemd|daemon)$ ]] || usage_error "--mode must be auto, systemd or daemon"

# Our own settings are consumed; tradd rejects TRADD_* variables it does not know.
unset TRADD_BIN TRADD_MODE TRADD_UNIT TRADD_WEB_UNIT TRADD_PIDFILE TRADD_POLL_INTERVAL
web_rc=0 # 1 once the console had to be killed or did not stop

stop_web_systemd() {
    systemctl is-active --quiet "$web_unit" 2>/dev/null || return 0
    say "stopping $web_unit (systemd)"
    local rc=0
    systemctl stop "$web_unit" || rc=$?
    if ((rc == 0)); then
        say "web console stopped"
    else
        warn "systemctl stop $web_unit failed (exit $rc): see 'systemctl status $web_unit'"
        web_rc=1
    fi
}

stop_systemd() {
    say "stopping $unit (systemd)"
    local rc=0 result
    systemctl stop "$unit" || rc=$?
    ((rc == 0)) || die 1 "systemctl stop $unit failed (exit $rc)"
    result=$(unit_property Result)
    case "$result" in
    success | "")
        say "stopped cleanly"
        ;;
    timeout)
        die 1 "did not stop within TimeoutStopSec: systemd had to kill it. Check positions and orders (emergency_stop.sh)"
        ;;
    *)
        die 1 "stopped, but not cleanly (Result=$result): see 'journalctl -u $unit'"
        ;;
    esac
}

wait_gone() { # wait_gone PID SECONDS: true once the process is gone
    local pid=$1 deadline=$((SECONDS + $2))
    while pid_alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

children_of() { # children_of PID: direct children, from /proc (no procps needed)
    local stat rest fields
    for stat in /proc/[0-9]*/stat; do
        rest=$(cat "$stat" 2>/dev/null) || continue
        rest=${rest##*) }
        read -ra fields <<<"$rest"
        if [[ "${fields[1]:-}" == "$1" ]]; then
            stat=${stat#/proc/}
            printf '%s\n' "${stat%/stat}"
        fi
    done
}

kill_hard() { # SIGKILL the supervisor and its direct children (the workers)
    local pid=$1 child
    local -a children=()
    mapfile -t children < <(children_of "$pid")
    kill -KILL "$pid" 2>/dev/null || true
    for child in "${children[@]}"; do
        kill -KILL "$child" 2>/dev/null || true
    done
}

is_console() { # is_console PID: its command line is `... tradd web ...` (not a recycled PID)
    local i
    local -a argv=()
    mapfile -d '' -t argv <"/proc/$1/cmdline" 2>/dev/null || return 1
    for ((i = 0; i + 1 < ${#argv[@]}; i++)); do
        [[ "${argv[i]##*/}" == tradd && "${argv[i + 1]}" == web ]] && return 0
    done
    return 1
}

stop_web() { # the console start_live_trading.sh --web started detached (its PID file)
    local web_pidfile pid
    web_pidfile="$(dirname "$pidfile")/tradd-web.pid"
    [[ -e "$web_pidfile" ]] || return 0
    pid=$(tr -dc 0-9 <"$web_pidfile")
    if [[ -z "$pid" ]] || ! pid_alive "$pid" || ! is_console "$pid"; then
        say "web console not running (stale PID file $web_pidfile removed; nothing signalled)"
        rm -f "$web_pidfile"
        return 0
    fi
    say "sending SIGTERM to the web console (pid $pid); waiting up to ${timeout}s"
    kill -TERM "$pid" 2>/dev/null || true
    if wait_gone "$pid" "$timeout"; then
        rm -f "$web_pidfile"
        say "web console stopped (pid $pid)"
        return 0
    fi
    warn "web console (pid $pid) still running after ${timeout}s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    web_rc=1
    if wait_gone "$pid" 10; then
        rm -f "$web_pidfile"
        warn "web console (pid $pid) had to be killed (its research jobs go on)"
    else
        warn "web console (pid $pid) survived SIGKILL"
    fi
}

stop_daemon() {
    local pid
    if [[ ! -e "$pidfile" ]]; then
        say "not running (no PID file at $pidfile)"
        return 0
    fi
    if ! lock_held "$pidfile"; then
        say "not running (stale PID file $pidfile: its lock is free; nothing signalled)"
        return 0
    fi
    pid=$(tr -dc 0-9 <"$pidfile")
    [[ -n "$pid" ]] || die 1 "$pidfile is locked but holds no PID yet (starting?): try again"
    if ! pid_alive "$pid"; then
        say "not running (pid $pid from $pidfile is gone)"
        return 0
    fi
    say "sending SIGTERM to tradd (pid $pid); waiting up to ${timeout}s"
    kill -TERM "$pid" 2>/dev/null || true
    if wait_gone "$pid" "$timeout"; then
        say "stopped cleanly (pid $pid)"
        return 0
    fi
    warn "pid $pid still running after ${timeout}s: sending SIGKILL"
    kill_hard "$pid"
    wait_gone "$pid" 10 || die 1 "pid $pid survived SIGKILL"
    die 1 "tradd (pid $pid) had to be killed: workers may not have cancelled their orders. Check positions and orders (emergency_stop.sh)"
}

# The console first: it is the daemon's client, and a trader's click meanwhile would only
# meet a daemon going away.
if use_systemd; then
    stop_web_systemd
    stop_systemd
else
    stop_web
    stop_daemon
fi
exit "$web_rc"
