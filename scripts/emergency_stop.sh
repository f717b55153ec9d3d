#!/usr/bin/env bash
# emergency_stop.sh -- close every position NOW: through the supervisor, else directly.
set -euo pipefail

usage() {
    cat <<EOF
Usage: ${0##*/} [--config PATH] [--stop] [--pidfile PATH] [--mode MODE]

EMERGENCY: flatten everything, and say loudly whether the account is confirmed flat.

  1. \`tradctl flatten --all\`: the supervisor halts every strategy, cancels its orders,
     closes its positions and sweeps the account; prints per-strategy results.
     Strategies stay HALTED until an operator resumes them.
  2. If the daemon is unreachable (tradctl exit 3) or the flatten failed or was not
     confirmed: \`tradd flatten-account\`, the supervisor-less kill switch (its own IB
     connection on a dedicated clientId: cancels every order, closes every position of
     the account, marks every strategy HALTED).
  3. With --stop: stop the daemon afterwards (stop_live_trading.sh).

No confirmation prompt: this is meant to be fast.

Options:
  --config PATH   configuration (default: \$TRADD_CONFIG, else /etc/tradd/tradd.toml if it
                  exists, else etc/tradd.toml in this repository)
  --stop          also stop the daemon once flat (or once flattening has failed)
  --pidfile PATH  PID file for --stop without systemd (default: \$TRADD_PIDFILE, else
                  state/tradd.pid in this repository)
  --mode MODE     auto (default, \$TRADD_MODE), systemd or daemon
  -h, --help      this text

Environment: TRADD_BIN (directory of tradd and tradctl; default: this repository's
.venv/bin, else PATH), TRADD_UNIT (default tradd.service).

Exit status: 0 CONFIRMED FLAT (and stopped, with --stop); 1 NOT confirmed flat: act by
hand in TWS / the IB portal; 2 usage; 4 flat, but --stop did not stop the daemon cleanly.
EOF
}

# --- shared helpers (say, warn, die, find_bin, use_systemd, ...): scripts/lib/common.sh
# shellcheck disable=SC2034  # prog, unit: read by the helpers
prog=${0##*/}
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(dirname "$script_dir")
unit=${TRADD_UNIT:-tradd.service}
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$script_dir/lib/common.sh"

banner() { printf '\n==================== %s ====================\n' "$*"; }

config=$(default_config)
pidfile=${TRADD_PIDFILE:-$repo_root/state/tradd.pid}
mode=${TRADD_MODE:-auto}
stop=no

while (($#)); do
    case "$1" in
    -h | --help) usage && exit 0 ;;
    --stop) stop=yes ;;
    --config | --pidfile | --mode)
        (($# >= 2)) || usage_error "$1 needs a value"
        case "$1" in
        --config) config=$2 ;;
        --pidfile) pidfile=$2 ;;
        --mode) mode=$2 ;;
        esac
        shift
        ;;
    *) usage_error "unknown argument '$1'" ;;
    esac
    shift
done
[[ "$mode" =~ ^(auto|systemd|daemon)$ ]] || usage_error "--mode must be auto, systemd or daemon"

tradd=$(find_bin tradd)
tradctl=$(find_bin tradctl)
# Our own settings are consumed: tradd rejects TRADD_* variables it does not know.
unset TRADD_BIN TRADD_MODE TRADD_UNIT TRADD_PIDFILE TRADD_POLL_INTERVAL
config=$(realpath -m "$config")
pidfile=$(realpath -m "$pidfile")
if use_systemd; then
    import_unit_environment
    mode=systemd
else
    cd "$repo_root"
    mode=daemon
fi

banner "EMERGENCY STOP: FLATTENING ALL STRATEGIES"
say "config: $config"
flat=no
via=""

say "step 1: tradctl flatten --all (through the supervisor)"
rc=0
"$tradctl" --config "$config" flatten --all || rc=$?
case "$rc" in
0)
    flat=yes
    via="supervisor (tradctl flatten --all)"
    ;;
3) warn "the daemon is UNREACHABLE (tradctl exit 3): falling back to tradd flatten-account" ;;
*) warn "tradctl flatten --all FAILED or was not confirmed (exit $rc): falling back to tradd flatten-account" ;;
esac

if [[ "$flat" == no ]]; then
    say "step 2: tradd flatten-account (direct IB connection, no supervisor)"
    rc=0
    "$tradd" flatten-account --config "$config" || rc=$?
    if ((rc == 0)); then
        flat=yes
        via="tradd flatten-account"
    else
        warn "tradd flatten-account FAILED (exit $rc)"
    fi
fi

stopped=n/a
if [[ "$stop" == yes ]]; then
    say "stopping the daemon (--stop)"
    stopped=yes
    TRADD_UNIT=$unit "$script_dir/stop_live_trading.sh" --mode "$mode" --pidfile "$pidfile" || stopped=no
fi

if [[ "$flat" == yes ]]; then
    banner "CONFIRMED FLAT via $via"
    say "every strategy is HALTED: resume each with 'tradctl resume NAME' when it is safe"
else
    banner "NOT CONFIRMED FLAT"
    printf '%s: the account may still have open orders or positions.\n' "$prog" >&2
    printf '%s: CHECK AND CLOSE THEM BY HAND NOW in TWS or the IB portal.\n' "$prog" >&2
fi
if [[ "$stopped" == no ]]; then
    warn "the daemon did NOT stop cleanly: see the messages above"
fi

[[ "$flat" == yes ]] || exit 1
[[ "$stopped" != no ]] || exit 4
exit 0
