from __future__ import annotations

from pathlib import Path

import pytest

from tradd.config.loader import load_settings, redact_url
from tradd.errors import ConfigError

from ..conftest import CONFIG, RunCli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tradd.toml"
    path.write_text(text)
    return path


def test_shipped_config_is_valid() -> None:
    settings = load_settings(CONFIG, environ={}, dotenv_path=None)
    assert settings.backtest.commission.per_share == 0.005
    assert settings.data.dir == Path("tradd/sample_data")


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[backtest]\ncash = 1000\n")
    settings = load_settings(path, environ={"TRADD_BACKTEST__CASH": "2500"}, dotenv_path=None)
    assert settings.backtest.cash == 2500.0


def test_dotenv_is_read_but_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TRADD_BACKTEST__CASH=3000\nTRADD_OPTIMIZE__WORKERS=3\nOTHER_TOOL=1\n")
    settings = load_settings(
        write(tmp_path, ""), environ={"TRADD_OPTIMIZE__WORKERS": "1"}, dotenv_path=dotenv
    )
    assert settings.backtest.cash == 3000.0
    assert settings.optimize.workers == 1


def test_every_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    path = write(tmp_path, "[backtest]\ncash = -5\ncolour = 'red'\n[data]\noutlier_sigma = 'x'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"TRADD_BOGUS__KEY": "1"}, dotenv_path=None)
    problems = "\n".join(caught.value.problems)
    assert "backtest.cash: Input should be greater than 0 (got -5)" in problems
    assert "backtest.colour: unknown key" in problems
    assert "data.outlier_sigma" in problems and "'x'" in problems
    assert "bogus.key: unknown key (from TRADD_BOGUS__KEY in environment)" in problems
    assert len(caught.value.problems) == 4


def test_program_variables_are_not_settings(tmp_path: Path) -> None:
    """TRADD_CHROMIUM names the browser for PDFs; like TRADD_CONFIG it is not refused."""
    environ = {"TRADD_CHROMIUM": "/usr/bin/chromium", "TRADD_BACKTEST__CASH": "7"}
    settings = load_settings(write(tmp_path, ""), environ=environ, dotenv_path=None)
    assert settings.backtest.cash == 7.0


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tradd.toml: not valid TOML"):
        load_settings(write(tmp_path, "[backtest\n"), environ={}, dotenv_path=None)


def test_secret_values_are_hidden(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, ""),
        environ={"TRADD_OPTIMIZE__STORAGE": "postgresql://u:hunter2@db/x"},
        dotenv_path=None,
    )
    assert "hunter2" not in repr(settings)
    assert settings.optimize.storage is not None
    assert redact_url(settings.optimize.storage) == "postgresql://u:***@db/x"


def test_settings_are_frozen() -> None:
    settings = load_settings(CONFIG, environ={}, dotenv_path=None)
    with pytest.raises(Exception, match="frozen"):
        settings.backtest.cash = 1.0  # type: ignore[misc]


def test_config_check_cli_exit_78_and_no_secret(run_cli: RunCli, tmp_path: Path) -> None:
    path = write(tmp_path, "[backtest]\ncash = 0\n")
    result = run_cli(
        "config",
        "check",
        "--config",
        str(path),
        env={"TRADD_OPTIMIZE__STORAGE": "postgresql://u:hunter2@db/x"},
    )
    assert result.code == 78
    assert "backtest.cash" in result.stderr and "(got 0)" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


def test_config_check_cli_ok(run_cli: RunCli) -> None:
    result = run_cli(
        "config",
        "check",
        "--config",
        str(CONFIG),
        env={"TRADD_OPTIMIZE__STORAGE": "postgresql://u:hunter2@db/x"},
    )
    assert result.code == 0, result.stderr
    assert "config OK" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


def test_config_check_cli_names_an_unknown_strategy_parameter_and_its_value(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = write(tmp_path, '[[strategies]]\nname = "s1"\nstrategy = "tests.worker.strategies.Scripted"\n'
                 'symbols = ["GOOG"]\nclient_id = 11\nparams = { scirpt = "1:BUY:10" }\n')  # fmt: skip
    result = run_cli("config", "check", "--config", str(path))
    assert result.code == 78
    assert "strategies.s1.params: scirpt = '1:BUY:10'" in result.stderr, result.stderr


def test_the_workers_idle_turn_must_be_shorter_than_the_hang_timeout(tmp_path: Path) -> None:
    """An idle worker's loop turns every worker.heartbeat seconds: the supervisor, which
    judges a worker by its loop's turns, would kill every idle one as hung."""
    path = write(tmp_path, "[worker]\nheartbeat = 90\n[supervisor]\nheartbeat_timeout = 60\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={}, dotenv_path=None)
    assert "worker.heartbeat (90) must be below supervisor.heartbeat_timeout (60)" in str(
        caught.value.problems
    )
