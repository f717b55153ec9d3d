"""Research calendars: the precomputed periods a year, and unknown names refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tradd.errors import ConfigError
from tradd.marketdata import calendars
from tradd.marketdata.contracts import default_spec, load_definitions

from ..conftest import RunCli


def test_reference_periods_table_matches_exchange_calendars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = dict(calendars.REFERENCE_PERIODS)
    monkeypatch.setattr(calendars, "REFERENCE_PERIODS", {})  # compute, bypassing the table
    assert {name: calendars.reference_periods(name) for name in table} == table


def test_unknown_calendar_is_a_config_error_naming_the_field(
    run_cli: RunCli, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "contracts.toml").write_text(
        '[GOOD]\ncalendar = "XLON"\n\n[OWN]\ncalendar = "contract"\n\n[FOO]\ncalendar = "NOPE"\n'
    )
    with pytest.raises(ConfigError) as error:
        load_definitions(data)
    assert error.value.problems == [
        f"{data / 'contracts.toml'}: FOO.calendar: unknown calendar 'NOPE'; use an "
        "exchange_calendars name such as XNYS, XEUR, 24/5, 24/7, or 'contract' for the "
        "definition's own days"
    ]
    config = tmp_path / "tradd.toml"
    config.write_text(f'[data]\ndir = "{data}"\n')
    result = run_cli("config", "check", "--config", str(config))
    assert result.code == 78
    assert "FOO.calendar: unknown calendar 'NOPE'" in result.stderr


def test_config_check_rejects_bad_data_thresholds(run_cli: RunCli, tmp_path: Path) -> None:
    config = tmp_path / "tradd.toml"
    config.write_text("[data]\nmissing_sessions_error_pct = 120\nmax_gap_bars = -1\n")
    result = run_cli("config", "check", "--config", str(config))
    assert result.code == 78
    assert "data.missing_sessions_error_pct" in result.stderr
    assert "data.max_gap_bars" in result.stderr


def test_a_calendars_first_days_are_usable() -> None:
    """The calendar is built with a week's margin; at a calendar's first recorded date
    (XBOM: 1997-01-01) the margin must not reach before it (exchange_calendars refuses)."""
    spec = default_spec("X").model_copy(update={"calendar": "XBOM", "time_zone": "Asia/Kolkata"})
    calendar = calendars.calendar_for(spec)
    sessions = calendar.session_dates(date(1997, 1, 1), date(1997, 1, 10))
    assert sessions[0] == date(1997, 1, 1) and len(sessions) >= 6
    assert calendar.session_hours(date(1997, 1, 2))[0].date() == date(1997, 1, 2)
