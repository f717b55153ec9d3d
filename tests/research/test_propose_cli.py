"""`--propose-for STRATEGY` of `tradd walkforward` and `tradd optimize`, in process: a
walk-forward's proposal carries its OOS evidence and each gate's verdict; a target that
could never take the proposal is a configuration error (exit 78) naming the key, before
any work."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from tests.conftest import SAMPLE_DATA
from tradd.persistence.db import open_database
from tradd.persistence.proposals import Proposals

from .conftest import Tradd

SMA = "strategies.sma_cross.SmaCross"


def config(tmp_path: Path, promotion: dict[str, Any]) -> Path:
    live = tmp_path / "live.toml"
    live.write_text("[params]\nfast = 10\nslow = 30\n")
    base = {"symbols": ["ORCL"], "bar": "1d"}
    document = {
        "state_dir": str(tmp_path / "state"), "log": {"dir": str(tmp_path / "logs")},
        "promotion": promotion,
        "strategies": [
            {"name": "sma", "strategy": SMA, "client_id": 1, "params_file": str(live), **base},
            {"name": "nofile", "strategy": SMA, "client_id": 2, **base},
            {"name": "other", "strategy": "strategies.rsi.RsiReversion", "client_id": 3,
             "params_file": str(live), **base},
        ],
    }  # fmt: skip
    path = tmp_path / "tradd.toml"
    path.write_text(tomli_w.dumps(document))
    return path


def walkforward(tradd: Tradd, path: Path, target: str, output: Path) -> tuple[int, str, str]:
    return tradd(
        "walkforward", "--strategy", SMA, "--symbols", "ORCL", "--start", "2005-01-01",
        "--end", "2007-12-31", "--is-months", "12", "--oos-months", "6", "--param",
        "fast=5:10:5", "--param", "slow=20:40:20", "--workers", "1", "--data-dir",
        str(SAMPLE_DATA), "--output", str(output), "--config", str(path),
        "--propose-for", target,
    )  # fmt: skip


def test_a_walkforward_proposes_its_last_windows_parameters_with_gates(
    tradd: Tradd, tmp_path: Path
) -> None:
    gates = {"max_pbo": 1.0, "min_oos_psr": 0.0, "min_efficiency": False, "min_stability": 1.0}
    path = config(tmp_path, gates)
    code, out, err = walkforward(tradd, path, "sma", tmp_path / "wf")
    assert code == 0, err
    _, sessions = open_database(f"sqlite:///{tmp_path / 'state' / 'tradd.db'}")
    [proposal] = Proposals(sessions, lambda: datetime.now(UTC)).recent()
    assert f"proposal {proposal.id} for sma" in out
    assert proposal.kind == "walkforward" and proposal.state == "pending"
    assert proposal.run_id is not None and proposal.run_id.startswith("walkforward-")
    e = proposal.evidence
    assert e.oos_sharpe is not None and e.oos_psr is not None and 0 <= e.oos_psr <= 1
    assert e.period_from.startswith("2005-01") and e.period_to.startswith("2007-12")
    assert e.symbols == ("ORCL",) and e.stability is not None
    verdicts = {g.name: g for g in proposal.gates}
    assert set(verdicts) == {"max_pbo", "min_oos_psr", "min_stability"}
    assert verdicts["min_oos_psr"].passed and verdicts["min_oos_psr"].value == e.oos_psr
    stable = verdicts["min_stability"]
    assert stable.passed == (e.stability == 1.0) and proposal.passed == all(
        g.passed for g in proposal.gates
    )
    report = json.loads((tmp_path / "wf" / "walkforward.json").read_text())
    assert proposal.params == report["windows"][-1]["best_params"]


def test_a_target_that_cannot_take_the_proposal_exits_78_naming_the_key(
    tradd: Tradd, tmp_path: Path
) -> None:
    path = config(tmp_path, {})
    expected = {
        "nosuch": "no strategy 'nosuch'",
        "nofile": "strategies.nofile.params_file is not set",
        "other": "strategies.other.strategy is 'strategies.rsi.RsiReversion'",
    }
    for target, said in expected.items():
        code, out, err = tradd(
            "optimize", "--strategy", SMA, "--symbols", "ORCL", "--param", "fast=5:10:5",
            "--data-dir", str(SAMPLE_DATA), "--output", str(tmp_path / target),
            "--config", str(path), "--propose-for", target,
        )  # fmt: skip
        assert code == 78, (target, out, err)
        assert said in err and "Traceback" not in err, err
        assert not (tmp_path / target).exists()  # refused before any work
    code, _, err = tradd("config", "check", "--config", str(config(tmp_path, {"max_pbo": True})))
    assert code == 78 and "promotion.max_pbo" in err, err
