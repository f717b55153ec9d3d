"""A bad contract definitions file is a configuration error (exit 78) wherever tradd reads
it: `tradd config check`, the check `tradd run` and a reload run first, and a worker's
start. The message names the file, the symbol, the field and the value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.simulator import strategy_entry, worker_settings
from tradd.errors import EXIT_CONFIG, ConfigError
from tradd.supervisor import configcheck
from tradd.worker.app import Worker

from ..conftest import RunCli

BAD = """[IDXFUT]
sec_type = "FUT"
ib_symbol = "ESTX50"
exchange = "EUREX"
multiplier = -10
"""


def setup(tmp_path: Path, contracts: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "contracts.toml").write_text(contracts)
    config = tmp_path / "tradd.toml"
    config.write_text(f'[data]\ndir = "{data}"\n')
    return config


def test_config_check_names_file_symbol_field_and_value(run_cli: RunCli, tmp_path: Path) -> None:
    config = setup(tmp_path, BAD)
    result = run_cli("config", "check", "--config", str(config))
    assert result.code == 78, result.stdout + result.stderr
    assert f"{tmp_path / 'data' / 'contracts.toml'}: IDXFUT.multiplier:" in result.stderr
    assert "(got -10)" in result.stderr, result.stderr


def test_config_check_lists_the_defined_contracts(run_cli: RunCli, tmp_path: Path) -> None:
    config = setup(tmp_path, BAD.replace("-10", "10"))
    result = run_cli("config", "check", "--config", str(config))
    assert result.code == 0, result.stderr
    assert "contracts: IDXFUT defined in" in result.stdout


def test_the_check_before_run_and_reload_refuses_it(tmp_path: Path, capsys) -> None:
    config = setup(tmp_path, BAD.replace('sec_type = "FUT"', 'sec_type = "FUTURE"'))
    assert configcheck.main([str(config)]) == EXIT_CONFIG
    verdict = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert not verdict["ok"]
    assert any("IDXFUT.sec_type" in p and "'FUTURE'" in p for p in verdict["problems"])


def test_a_worker_does_not_start_on_it(tmp_path: Path) -> None:
    setup(tmp_path, BAD)
    settings = worker_settings(tmp_path, 1, "sqlite://", [strategy_entry(symbols=["IDXFUT"])],
                               data={"dir": str(tmp_path / "data")})  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        Worker(settings, "s1")
    assert caught.value.exit_code == EXIT_CONFIG
    assert any("IDXFUT.multiplier" in p for p in caught.value.problems)


def test_a_worker_says_at_start_that_foreign_currency_values_are_not_converted(
    tmp_path: Path,
) -> None:
    from structlog.testing import capture_logs

    setup(tmp_path, BAD.replace("-10", "10") + 'currency = "EUR"\n')
    settings = worker_settings(tmp_path, 1, "sqlite://", [strategy_entry(symbols=["IDXFUT", "GOOG"])],
                               data={"dir": str(tmp_path / "data")})  # fmt: skip
    with capture_logs() as logs:
        Worker(settings, "s1")
    warned = [e for e in logs if "foreign currency" in e["event"]]
    assert [(e["symbol"], e["currency"], e["log_level"]) for e in warned] == [
        ("IDXFUT", "EUR", "warning")]  # fmt: skip


def test_data_download_refuses_it_before_connecting(run_cli: RunCli, tmp_path: Path) -> None:
    config = setup(tmp_path, BAD)
    result = run_cli("data", "download", "--symbols", "IDXFUT", "--start", "2006-01-02",
                     "--end", "2006-01-03", "--bar", "1m", "--port", "1",
                     "--config", str(config))  # fmt: skip
    assert result.code == 78, result.stdout + result.stderr
    assert "IDXFUT.multiplier" in result.stderr
    assert "cannot connect" not in result.stdout + result.stderr
