"""A bad `[[schedules]]` entry fails `tradd config check` (exit 78) naming its key path,
and the daemon refuses to start or reload with it: a cron expression that does not parse,
a bad time zone or calendar, both or neither of cron/at, an unknown strategy, drift
without one, duplicate names, an option the scheduler sets itself, and an argument the
command's own parser refuses."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.conftest import ROOT, RunCli
from tests.fixtures.web import SAMPLE_DATA
from tradd.supervisor.configcheck import check_in_child

HEAD = f'[data]\ndir = "{SAMPLE_DATA}"\n'
STRATEGY = ('[[strategies]]\nname = "live1"\nstrategy = "tests.worker.strategies.Scripted"\n'
            'symbols = ["GOOG"]\nclient_id = 11\n')  # fmt: skip


def schedule(name: str, kind: str, when: str, args: str = "[]", extra: str = "") -> str:
    return f'[[schedules]]\nname = "{name}"\nkind = "{kind}"\n{when}\nargs = {args}\n{extra}\n'


def test_every_bad_schedule_is_named_by_its_key_path(run_cli: RunCli, tmp_path: Path) -> None:
    text = HEAD + STRATEGY + "".join([
        schedule("a", "scan", 'cron = "61 17 * * *"'),
        schedule("b", "scan", 'cron = "0 1 * * *"\nat = "after_close"'),
        schedule("c", "scan", ""),
        schedule("d", "walkforward", 'at = "after_close"',
                 extra='calendar = "XXXX"\ntimezone = "Mars/Base"\nstrategy = "ghost"'),
        schedule("e", "drift", 'cron = "0 1 * * *"'),
        schedule("a", "scan", 'cron = "0 1 * * *"', args='["--output", "x", "--execute"]'),
    ])  # fmt: skip
    path = tmp_path / "tradd.toml"
    path.write_text(text)
    result = run_cli("config", "check", "--config", str(path))
    assert result.code == 78, result.stderr
    for expected in ("schedules.a.cron: not a five-field cron expression",
                     "got '61 17 * * *'",
                     "schedules.b.cron: give either cron or at",
                     "schedules.c.cron: give either cron or at",
                     "schedules.d.calendar: unknown exchange calendar 'XXXX'",
                     "schedules.d.timezone: unknown time zone 'Mars/Base'",
                     "schedules.d.strategy: no strategy 'ghost' (known: live1)",
                     "schedules.e.strategy: a drift schedule needs",
                     "schedules[5].name: a second schedule named 'a'",
                     "schedules.a.args: --output is set by the scheduler",
                     "schedules.a.args: --execute is not allowed"):  # fmt: skip
        assert expected in result.stderr, (expected, result.stderr)
    assert "Traceback" not in result.stderr
    refused = run_cli("run", "--config", str(path))
    assert refused.code == 78 and "schedules.a.cron" in refused.stderr


def test_an_argument_the_command_refuses_fails_the_check_and_a_reload(
    run_cli: RunCli, tmp_path: Path
) -> None:
    text = HEAD + "".join([
        schedule("nightly", "scan", 'cron = "30 17 * * 1-5"', args='["--symbols", "ORCL", "--bogus"]'),
        schedule("wf", "walkforward", 'at = "after_close"', args='["--trials", "ten"]'),
        schedule("ok", "scan", 'cron = "0 1 * * *"', args='["--symbols", "ORCL", "--cash", "1e5"]'),
    ])  # fmt: skip
    path = tmp_path / "tradd.toml"
    path.write_text(text)
    result = run_cli("config", "check", "--config", str(path))
    assert result.code == 78, result.stderr
    assert "schedules.nightly.args: No such option: --bogus" in result.stderr
    assert "schedules.wf.args:" in result.stderr and "'ten'" in result.stderr
    assert "schedules.ok" not in result.stderr
    environ = {**os.environ, "TRADD_STATE_DIR": str(tmp_path / "state"),
               "TRADD_LOG__DIR": str(tmp_path / "logs")}  # fmt: skip
    checked = asyncio.run(check_in_child(path, ROOT, environ))  # what a reload runs
    assert not checked.ok
    assert any("schedules.nightly.args: No such option: --bogus" in p for p in checked.problems)


def test_drift_and_proposing_schedules_pass_and_a_target_that_cannot_take_a_proposal_fails(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """With `tradd drift` and `--propose-for` both there, the whole command lines the
    scheduler will run are checked: a drift schedule's options, and a proposing
    schedule's live strategy (the same class, a params_file)."""
    sma = ('[[strategies]]\nname = "sma"\nstrategy = "strategies.sma_cross.SmaCross"\n'
           'symbols = ["ORCL"]\nclient_id = 12\nparams_file = "{params}"\n')  # fmt: skip
    (tmp_path / "sma.toml").write_text("[params]\nfast = 10\nslow = 30\n")
    sma = sma.format(params=tmp_path / "sma.toml")
    wf = '["--strategy", "strategies.sma_cross.SmaCross", "--symbols", "ORCL"]'
    good = HEAD + STRATEGY + sma + "".join([
        schedule("drift", "drift", 'at = "after_close"', args='["--from", "2026-12-01"]',
                 extra='strategy = "live1"'),
        schedule("wf", "walkforward", 'cron = "0 2 * * 6"', args=wf, extra='strategy = "sma"'),
    ])  # fmt: skip
    path = tmp_path / "tradd.toml"
    path.write_text(good)
    result = run_cli("config", "check", "--config", str(path))
    assert result.code == 0, result.stderr
    bad = HEAD + STRATEGY + "".join([
        schedule("drift", "drift", 'at = "after_close"', args='["--from", "yesterday"]',
                 extra='strategy = "live1"'),
        schedule("wf", "walkforward", 'cron = "0 2 * * 6"', args=wf, extra='strategy = "live1"'),
    ])  # fmt: skip
    path.write_text(bad)
    result = run_cli("config", "check", "--config", str(path))
    assert result.code == 78, result.stderr
    assert "schedules.drift.args:" in result.stderr and "'yesterday'" in result.stderr
    assert "schedules.wf.strategy: --propose-for live1: strategies.live1.strategy" in result.stderr
    assert "Traceback" not in result.stderr
