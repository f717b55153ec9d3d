#!/usr/bin/env bash
# start_live_trading.sh -- validate the configuration, start tradd, wait until healthy.
set -euo pipefail

usage() {
    cat <<EOF
Usage: ${0##*/} [--config PATH] [--pidfile PATH] [--timeout SECONDS] [--mode MODE] [--web]

Start live trading:
  1. validate the configuration (\`tradd config check\`); abort with its output if invalid
  2. start the daemon: \`systemctl start tradd.service\` under systemd, otherwise
     \`tradd run --daemon --pidfile PATH\`
  3. wait until \`tradctl health\` succeeds (every enabled strategy RUNNING), then print
     \`tradctl status\`
  4. with --web, start the web console too: \`systemctl start tradd-web.service\` under
     systemd, otherwise \`tradd web\` detached (its PID in tradd-web.pid beside the daemon's
     PID file, its output in tradd-web.out there, readable by you only: it holds the admin
     password a first start prints); wait for its banner (URL, how to log in) and print it

Options:
  --config PATH      configuration (default: \$TRADD_CONFIG, else /etc/tradd/tradd.toml if it
                     exists, else etc/tradd.toml in this repository)
  --pidfile PATH     PID file without systemd (default: \$TRADD_PIDFILE, else state/tradd.pid
                     in this repository)
  --timeout SECONDS  how long to wait for health (default: 60)
  --mode MODE        auto (default, \$TRADD_MODE), systemd or daemon. auto uses systemd when
                     it is PID 1 and \`systemctl cat tradd.service\` succeeds
  --web              also start the web console (docs/web.md); stop_live_trading.sh
                     stops it (before the daemon)
  -h, --help         this text

Environment: TRADD_BIN (directory of tradd and tradctl; default: this repository's
.venv/bin, else PATH), TRADD_UNIT (default tradd.service), TRADD_WEB_UNIT (default
tradd-web.service), TRADD_POLL_INTERVAL (seconds between health checks, default 1).

Exit status: 0 running and healthy; the config check's status (78: invalid
configuration) or the start command's status if they fail; 1 not healthy in time, the
daemon exited, or (--web) the console exited or printed no banner in time; 2 usage.
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

config=$(default_config)
pidfile=${TRADD_PIDFILE:-$repo_root/state/tradd.pid}
timeout=60
mode=${TRADD_MODE:-auto}
interval=${TRADD_POLL_INTERVAL:-1}
web=0

while (($#)); do
    case "$1" in
    -h | --help) usage && exit 0 ;;
    --web) web=1 ;;
    --config | --pidfile | --timeout | --mode)
        (($# >= 2)) || usage_error "$1 needs a value"
        case "$1" in
        --config) config=$2 ;;
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

tradd=$(find_bin tradd)
tradctl=$(find_bin tradctl)
# Our own settings are consumed: tradd rejects TRADD_* variables it does not know.
unset TRADD_BIN TRADD_MODE TRADD_UNIT TRADD_WEB_UNIT TRADD_PIDFILE TRADD_POLL_INTERVAL
config=$(realpath -m "$config")
pidfile=$(realpath -m "$pidfile")

if use_systemd; then
    managed=systemd
    import_unit_environment
else
    managed=daemon
    cd "$repo_root" # relative paths in the config (state_dir = "state") mean the repo's
fi

say "checking configuration $config"
check_rc=0
check_output=$("$tradd" config check --config "$config" 2>&1) || check_rc=$?
if ((check_rc != 0)); then
    printf '%s\n' "$check_output" >&2
    die "$check_rc" "configuration check failed (exit $check_rc): not starting"
fi
printf '%s\n' "$check_output"

daemon_gone() { # true when the daemon is certainly not running any more
    if [[ "$managed" == systemd ]]; then
        if systemctl is-active --quiet "$unit"; then return 1; fi
    elif lock_held "$pidfile"; then
        return 1
    fi
    return 0
}

if [[ "$managed" == systemd ]]; then
    say "starting $unit (systemd)"
    start_rc=0
    systemctl start "$unit" || start_rc=$?
    ((start_rc == 0)) || die "$start_rc" "systemctl start $unit failed: see 'systemctl status $unit'"
else
    say "starting tradd run --daemon (pidfile $pidfile)"
    start_rc=0
    "$tradd" run --config "$config" --daemon --pidfile "$pidfile" || start_rc=$?
    ((start_rc == 0)) || die "$start_rc" "tradd run failed (exit $start_rc)"
fi

say "waiting up to ${timeout}s for every strategy to be RUNNING"
deadline=$((SECONDS + timeout))
health_rc=0
while :; do
    health_rc=0
    health_output=$("$tradctl" --config "$config" health 2>&1) || health_rc=$?
    ((health_rc == 0)) && break
    if daemon_gone; then
        printf '%s\n' "$health_output" >&2
        die 1 "the daemon exited during start-up: see its logs ($managed mode)"
    fi
    if ((SECONDS >= deadline)); then
        printf '%s\n' "$health_output" >&2
        "$tradctl" --config "$config" status >&2 || true
        die 1 "not healthy after ${timeout}s (last tradctl health exit $health_rc); it is still running"
    fi
    sleep "$interval"
done

say "tradd is running and healthy"
"$tradctl" --config "$config" status
((web)) || exit 0

# --- the web console: a process of its own; its failing leaves the daemon running ---------
if [[ "$managed" == systemd ]]; then
    say "starting $web_unit (systemd)"
    start_rc=0
    systemctl start "$web_unit" || start_rc=$?
    ((start_rc == 0)) || die 1 "systemctl start $web_unit failed: see 'systemctl status $web_unit' (the daemon runs on)"
    say "web console started: its URL and, on a first start, the admin password:"
    say "  journalctl -u $web_unit | grep -E 'console on|created user|log in'"
    exit 0
fi
web_pidfile="$(dirname "$pidfile")/tradd-web.pid"
web_out="$(dirname "$pidfile")/tradd-web.out"
if [[ -f "$web_pidfile" ]] && pid_alive "$(tr -dc 0-9 <"$web_pidfile")"; then
    say "web console already running (pid $(tr -dc 0-9 <"$web_pidfile"))"
    exit 0
fi
mkdir -p "$(dirname "$pidfile")"
say "starting tradd web (pid file $web_pidfile, output $web_out)"
(umask 077 && : >"$web_out")
setsid "$tradd" web --config "$config" </dev/null >>"$web_out" 2>&1 &
web_pid=$!
printf '%s\n' "$web_pid" >"$web_pidfile"
deadline=$((SECONDS + timeout))
until grep -qE 'created user admin|log in with' "$web_out"; do # the line after the URL
    if ! pid_alive "$web_pid"; then
        cat "$web_out" >&2
        rm -f "$web_pidfile"
        die 1 "the web console exited during start-up (the daemon runs on)"
    fi
    if ((SECONDS >= deadline)); then
        cat "$web_out" >&2
        die 1 "the web console printed no banner after ${timeout}s; it is still running (pid $web_pid)"
    fi
    sleep "$interval"
done
grep -E 'console on|created user|log in' "$web_out" || true
