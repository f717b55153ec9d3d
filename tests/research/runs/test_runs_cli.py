"""`tradd runs list|show|delete` on the configured database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tradd.research.runs import RunStore

from ..conftest import run_main

Tradd = Callable[..., tuple[int, str, str]]


@pytest.fixture
def tradd(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Tradd:
    monkeypatch.setenv("TRADD_DATABASE__URL", database_url)
    monkeypatch.setenv("TRADD_LOG__DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("COLUMNS", "200")

    return lambda *args: run_main(capsys, args)


def test_list_shows_the_runs_newest_first_and_filters(store: RunStore, tradd: Tradd) -> None:
    scan = store.start("scan", {"symbols": ["GOOG"]}, Path("/tmp/results/scan"), total=6)
    store.progress(scan, 6)
    store.finish(scan, "complete", {"best": {"GOOG": "strategies.rsi.RsiReversion"}})
    optimize = store.start("optimize", {"strategy": "x"}, None, total=100)
    store.progress(optimize, 40)
    code, out, err = tradd("runs", "list")
    assert code == 0, err
    assert out.index(optimize) < out.index(scan)
    assert "running" in out and "40/100 (40%)" in out and "6/6 (100%)" in out
    code, out, _ = tradd("runs", "list", "--kind", "scan", "--json")
    listed = json.loads(out)
    assert [r["id"] for r in listed] == [scan] and listed[0]["status"] == "complete"
    assert listed[0]["summary"] == {"best": {"GOOG": "strategies.rsi.RsiReversion"}}
    code, out, _ = tradd("runs", "list", "--limit", "1", "--json")
    assert [r["id"] for r in json.loads(out)] == [optimize]
    code, _, err = tradd("runs", "list", "--kind", "nope")
    assert code == 2 and "--kind 'nope': use one of scan, optimize, walkforward, compare" in err


def test_show_gives_request_progress_summary_output_and_error(
    store: RunStore, tradd: Tradd
) -> None:
    run_id = store.start("walkforward", {"windows": 7}, Path("/tmp/wf"), total=7)
    store.progress(run_id, 3)
    store.finish(run_id, "failed", error="DataError: no bars")
    code, out, err = tradd("runs", "show", run_id)
    assert code == 0, err
    for text in (run_id, "walkforward", "failed", "3/7", "/tmp/wf", "DataError: no bars",
                 '"windows": 7'):  # fmt: skip
        assert text in out
    code, out, _ = tradd("runs", "show", run_id, "--json")
    shown = json.loads(out)
    assert (shown["request"], shown["progress_done"], shown["output"]) == ({"windows": 7}, 3,
                                                                           "/tmp/wf")  # fmt: skip
    code, _, err = tradd("runs", "show", "scan-20000101-000000")
    assert code == 1 and "no run 'scan-20000101-000000'" in err


def test_delete_removes_the_record_keeps_the_files_and_spares_running_runs(
    store: RunStore, tradd: Tradd, tmp_path: Path
) -> None:
    output = tmp_path / "scan"
    output.mkdir()
    (output / "scan.json").write_text("{}")
    done = store.start("scan", {}, output)
    store.finish(done, "complete", {})
    code, out, err = tradd("runs", "delete", done)
    assert code == 0, err
    assert out.strip() == f"deleted the record of run {done}; its output files in {output} are kept"
    assert store.get(done) is None and (output / "scan.json").is_file()
    code, _, err = tradd("runs", "delete", done)
    assert code == 1 and f"no run '{done}'" in err
    running = store.start("optimize", {}, None)
    code, _, err = tradd("runs", "delete", running)
    assert code == 1 and "is running: not deleted (--force" in err
    assert store.get(running) is not None
    code, out, _ = tradd("runs", "delete", running, "--force")
    assert code == 0 and store.get(running) is None
