from __future__ import annotations

import json
from pathlib import Path

import pytest

from strategies.rsi import RsiReversion
from strategies.sma_cross import SmaCross
from tradd.cli.app import main
from tradd.errors import UsageError
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.compare.runner import CompareRequest, prepare, unique_labels
from tradd.research.compare.sources import params_for, read_source
from tradd.research.setup import ResearchInputs

SMA = "strategies.sma_cross.SmaCross"
RSI = "strategies.rsi.RsiReversion"


def _json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_optimization_json_gives_its_best_params(tmp_path: Path) -> None:
    path = _json(
        tmp_path / "optimization.json",
        {"optimization_id": "x", "strategy": SMA, "best_params": {"fast": 7, "slow": 60}},
    )
    source = read_source(path)
    assert (source.kind, source.strategy) == ("optimization", SMA)
    assert params_for(source, SMA, SmaCross) == {"fast": 7, "slow": 60}


def test_walkforward_json_gives_the_last_windows_params(tmp_path: Path) -> None:
    windows = [{"best_params": {"fast": 5, "slow": 30}}, {"best_params": {"fast": 9, "slow": 80}}]
    path = _json(tmp_path / "walkforward.json", {"strategy": SMA, "windows": windows})
    source = read_source(path)
    assert source.kind == "walkforward"
    assert params_for(source, SMA, SmaCross) == {"fast": 9, "slow": 80}


def test_backtest_result_json_gives_its_params(tmp_path: Path) -> None:
    document = {"strategy": RSI, "params": {"period": 10}, "metrics": {"sharpe": 1.0}}
    source = read_source(_json(tmp_path / "result.json", document))
    assert source.kind == "backtest"
    assert params_for(source, RSI, RsiReversion) == {"period": 10}


def test_toml_params_are_typed_like_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rsi.toml"
    path.write_text('[params]\nperiod = "12"\noversold = 25\n')
    source = read_source(path)
    assert (source.kind, source.strategy) == ("toml", None)
    typed = params_for(source, RSI, RsiReversion)
    assert typed == {"period": 12, "oversold": 25.0}
    assert isinstance(typed["oversold"], float)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "no such file"),
        ("broken.json", "{", "not valid JSON"),
        ("other.json", '{"hello": 1}', "not an optimization.json, walkforward.json"),
        ("empty.json", '{"best_params": null}', "no completed trial"),
        ("nowindows.json", '{"windows": []}', "has no windows"),
        ("flat.toml", "fast = 3\n", "no [params] table"),
        ("bad.toml", "[params\n", "not valid TOML"),
    ],
)
def test_unreadable_sources_are_usage_errors(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match="--params-from") as caught:
        read_source(path)
    assert message in str(caught.value)


def test_params_of_another_strategy_are_refused(tmp_path: Path) -> None:
    path = _json(tmp_path / "o.json", {"strategy": RSI, "best_params": {"period": 10}})
    with pytest.raises(UsageError, match=f"parameters of {RSI}, but it is given for {SMA}"):
        params_for(read_source(path), SMA, SmaCross)


def test_unknown_and_mistyped_params_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[params]\nspeed = 3\n")
    with pytest.raises(UsageError, match="has no parameter 'speed'; its parameters are fast"):
        params_for(read_source(path), SMA, SmaCross)
    path.write_text('[params]\nfast = "5:50:5"\n')
    with pytest.raises(UsageError, match="fast = '5:50:5' is not a valid int"):
        params_for(read_source(path), SMA, SmaCross)
    path.write_text("[params]\nfast = [5, 10]\n")
    with pytest.raises(UsageError, match="fast must be a single value"):
        params_for(read_source(path), SMA, SmaCross)


def _request(strategies: tuple[str, ...], files: tuple[Path, ...] = ()) -> CompareRequest:
    inputs = ResearchInputs(strategies[0], ("GOOG",), None, None, "1d", BrokerConfig())
    return CompareRequest(inputs, strategies, files)


def test_prepare_checks_counts_and_params_before_running(data_dir: Path, tmp_path: Path) -> None:
    store = DataStore(data_dir)
    with pytest.raises(UsageError, match="at least 2 strategies"):
        prepare(_request((SMA,)), store)
    extra = (tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "c.toml")
    with pytest.raises(UsageError, match="3 files for 2 strategies"):
        prepare(_request((SMA, RSI), extra), store)
    invalid = tmp_path / "invalid.toml"
    invalid.write_text("[params]\nfast = 80\n")
    with pytest.raises(UsageError, match="fast must be shorter than slow") as caught:
        prepare(_request((SMA, RSI), (invalid,)), store)
    assert str(invalid) in str(caught.value)


def test_prepare_fills_defaults_and_records_the_source(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "sma.toml"
    path.write_text(f'strategy = "{SMA}"\n[params]\nfast = 5\n')
    prepared = prepare(_request((SMA, RSI, SMA), (path,)), DataStore(data_dir))
    first, second, third = prepared.contenders
    assert first.params == {"fast": 5, "slow": 30, "threshold": 0.0}
    assert first.params_source == str(path)
    assert second.params == {"period": 14, "oversold": 30.0, "overbought": 70.0}
    assert (second.params_source, third.params_source) == (None, None)
    assert [c.label for c in prepared.contenders] == ["SmaCross #1", "RsiReversion", "SmaCross #2"]
    assert [b.symbol for b in prepared.bars] == ["GOOG"]


def test_labels_are_unique() -> None:
    assert unique_labels([SMA, RSI]) == ["SmaCross", "RsiReversion"]
    assert unique_labels(["a.X", "b.X"]) == ["a.X", "b.X"]
    assert unique_labels(["a.X", "b.X", "a.X"]) == ["a.X #1", "b.X", "a.X #2"]


def _compare_argv(data_dir: Path, tmp_path: Path, *params_from: str) -> list[str]:
    return ["compare", "--strategies", SMA, RSI, *params_from, "--symbols", "GOOG",
            "--start", "2011-01-01", "--end", "2011-06-30", "--data-dir", str(data_dir),
            "--output", str(tmp_path / "c.html")]  # fmt: skip


@pytest.mark.parametrize("repeated", [False, True])
def test_params_from_splits_a_list_into_files_in_strategy_order(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repeated: bool,
) -> None:
    """`--params-from a.toml b.json` reaches compare as "a.toml,b.json" (the CLI joins list
    options); each file must go to its strategy. The second file here names SmaCross, so
    the error proves it was split out and given to the second strategy, RsiReversion."""
    monkeypatch.setenv("TRADD_LOG__DIR", str(tmp_path / "logs"))
    first = tmp_path / "sma.toml"
    first.write_text(f'strategy = "{SMA}"\n[params]\nfast = 5\n')
    second = _json(tmp_path / "sma.json", {"strategy": SMA, "best_params": {"fast": 7}})
    files = [str(first), str(second)]
    args = (
        [a for f in files for a in ("--params-from", f)] if repeated else ["--params-from", *files]
    )
    with pytest.raises(SystemExit) as caught:
        main(_compare_argv(data_dir, tmp_path, *args))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"--params-from {second}: parameters of {SMA}, but it is given for {RSI}" in err
    with pytest.raises(SystemExit) as caught:
        main(_compare_argv(data_dir, tmp_path, "--params-from", *files, str(second)))
    assert caught.value.code == 2
    assert "3 files for 2 strategies" in capsys.readouterr().err
