"""The verdict and the summary table a rehearsal prints.

A rehearsal fails when any invariant was broken (at the end, or for longer than the
grace mid-run), a control answer was missing or slow, a strategy could trade less than
the target share of open-market time outside injected faults, the system misbehaved
under a fault (an invalid reload that changed something, a worker outliving its
supervisor), a process ended with more descriptors than it had after warm-up (beyond a
slack), or, without faults (the soak), its RSS grew past the limit.
"""

from __future__ import annotations

from tradd.rehearsal.probes import Usage
from tradd.rehearsal.runner import Outcome

FD_SLACK = 10  # descriptors a process may hold more at the end (sockets, files come and go)


def growth(life: Usage) -> float:
    assert life.first is not None and life.last is not None
    return (life.last[0] - life.first[0]) / life.first[0]


def failures(o: Outcome) -> list[str]:
    """Every reason this rehearsal failed (empty: it passed)."""
    out = list(o.failures)
    out += [f"{name}: {problems[0]} (+{len(problems) - 1} more)"
            for name, problems in o.verdict.problems.items() if problems]  # fmt: skip
    out += [f"mid-run {name}: {problems[0]} (+{len(problems) - 1} more)"
            for name, problems in o.mid_run.items() if problems]  # fmt: skip
    out += o.injector.findings
    out += [f"no answer: {x}" for x in o.latency.unanswered[:5]]
    out += [f"slow answer: {x}" for x in o.latency.slow[:5]]
    for name in sorted(o.tradable.counted):
        share = o.tradable.share(name)
        if share is not None and share < o.options.tradable_target:
            out.append(f"{name} could trade {share:.1%} of open-market time "
                       f"(target {o.options.tradable_target:.0%})")  # fmt: skip
    for key, life in o.resources.longest().items():
        assert life.first is not None and life.last is not None
        if life.last[1] > life.first[1] + FD_SLACK:
            out.append(f"{key} descriptors grew {life.first[1]} -> {life.last[1]}")
        judged = key != "simgw"  # shown, not judged: the test bench, not tradd
        if judged and not o.options.faults and growth(life) > o.options.growth_limit:
            out.append(f"{key} RSS grew {growth(life):+.1%} after warm-up")
    return out


def table(o: Outcome) -> str:
    """The summary: faults, orders and fills, tradable share, resources, each invariant."""
    opt, counts = o.options, o.verdict.counts
    lines = [
        f"rehearsal: seed {opt.seed}, {len(o.days)} sessions {o.days[0]}..{o.days[-1]} "
        f"(seen {len(o.sessions_seen)}), mode {opt.mode}, speed {opt.speed:g}, "
        f"wall {o.wall:.0f}s, work dir {o.workdir}",
        "",
        f"faults injected {sum(o.injector.done.values())}: "
        + (", ".join(f"{k} {n}" for k, n in sorted(o.injector.done.items())) or "none"),
        f"  kills: worker {o.injector.done['kill_worker']}, "
        f"supervisor {o.injector.done['kill_supervisor']}; "
        f"not injected: {sum(o.injector.skipped.values())}",
        f"orders {counts.get('orders', 0)} (ledger {counts.get('ledger_orders', 0)}), "
        f"fills {counts.get('fills', 0)} (ledger {counts.get('ledger_fills', 0)}), "
        f"lost {counts.get('lost', 0)}, duplicated {counts.get('duplicated', 0)}",
        f"control answers {o.latency.calls}: worst {o.latency.worst:.3f}s, "
        f"over {opt.status_limit:g}s {len(o.latency.slow)}, none {len(o.latency.unanswered)}",
        "",
        f"{'strategy':<10} {'tradable':>9} {'of s':>6}  blocked by (real seconds)",
    ]
    for name in sorted(o.tradable.counted):
        share = o.tradable.share(name)
        reasons = sorted(o.tradable.reasons.get(name, {}).items(), key=lambda kv: -kv[1])[:3]
        why = "; ".join(f"{r} {s:.0f}s" for r, s in reasons) or "-"
        counted = o.tradable.counted[name]
        lines.append(f"{name:<10} {share or 0:>9.1%} {counted:>6.0f}  {why}")
    lines += ["", f"{'process':<11} {'pid':>7} {'RSS MB start->end':>19} {'growth':>7} "
              f"{'fds':>9} {'lived s':>8}"]  # fmt: skip
    for key, life in sorted(o.resources.longest().items()):
        assert life.first is not None and life.last is not None
        rss = f"{life.first[0] / 1024:.0f} -> {life.last[0] / 1024:.0f}"
        fds = f"{life.first[1]} -> {life.last[1]}"
        lines.append(f"{key:<11} {life.pid:>7} {rss:>19} {growth(life):>+7.1%} {fds:>9} "
                     f"{life.lifetime:>8.0f}")  # fmt: skip
    lines += ["", "invariant                      result"]
    for name, problems in o.verdict.problems.items():
        mid = o.mid_run.get(name, [])
        state = "ok" if not problems and not mid else f"FAIL ({len(problems)} end, {len(mid)} mid)"
        lines.append(f"{name:<30} {state}")
    return "\n".join(lines)


def summary(o: Outcome) -> tuple[str, bool]:
    """The printed report and whether the rehearsal passed."""
    problems = failures(o)
    text = table(o)
    if o.injector.notes:
        text += "\n\nnot injected:\n  " + "\n  ".join(o.injector.notes[:10])
    if not problems:
        return text + "\n\nPASS", True
    opt = o.options
    again = (f"python -m tradd.rehearsal --days {opt.days} --seed {opt.seed} --mode {opt.mode} "
             f"--speed {opt.speed:g}" + ("" if opt.faults else " --no-faults"))  # fmt: skip
    text += "\n\nFAIL:\n  " + "\n  ".join(problems[:40])
    return text + f"\n\nreproduce with seed {opt.seed}: {again}", False
