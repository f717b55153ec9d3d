"""`[alerts]` configuration: bad values fail `tradd config check` with their key path."""

from __future__ import annotations

import pytest

from tradd.config.loader import load_settings
from tradd.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "tradd.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("toml", "env", "expected"), [
    ('[alerts.sms]\nenabled = true\naccount_sid = "AC1"\nfrom_number = "+15005550006"\nto = ["555-1234"]\n',
     {"TRADD_ALERTS__SMS__AUTH_TOKEN": "t0ken"}, "alerts.sms.to"),
    ('[alerts.sms]\nenabled = true\naccount_sid = "AC1"\nfrom_number = "+15005550006"\nto = ["+15551230001"]\n',
     {}, "alerts.sms.auth_token: missing"),
    ('[alerts.email]\nenabled = true\nusername = "u"\nrecipients = ["ops@example.com"]\n', {},
     "alerts.email.password: missing"),
    ('[alerts.email]\nrecipients = ["not an address"]\n', {}, "alerts.email.recipients"),
    ('[alerts.routes]\ncritical = ["pager"]\n', {}, "alerts.routes.critical"),
    ('[alerts.events]\ncrash_loop = ["fax"]\n', {}, "alerts.events.crash_loop"),
    ('[alerts.webhook]\nenabled = true\n', {}, "alerts.webhook.url: missing"),
    ('[alerts.summary]\ntimezone = "Mars/Olympus"\n', {}, "alerts.summary.timezone"),
])  # fmt: skip
def test_bad_alert_settings_are_refused_naming_the_key(tmp_path, toml, env, expected) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, toml), environ=env, dotenv_path=None)
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems


def test_config_check_exits_78_with_the_key_path(tmp_path, run_cli) -> None:
    toml = '[alerts.sms]\nenabled = true\naccount_sid = "AC1"\nfrom_number = "+1"\nto = []\n'
    result = run_cli("config", "check", "--config", str(write(tmp_path, toml)))
    assert result.code == 78 and "alerts.sms.from_number" in result.stderr


def test_secrets_from_the_environment_are_accepted_and_never_printed(tmp_path, run_cli) -> None:
    toml = ('[alerts.sms]\nenabled = true\naccount_sid = "AC1"\nfrom_number = "+15005550006"\n'
            'to = ["+15551230001"]\n[alerts.email]\nenabled = true\nusername = "u"\n'
            'recipients = ["ops@example.com"]\n')  # fmt: skip
    secrets = {
        "TRADD_ALERTS__SMS__AUTH_TOKEN": "tok-SECRET-1",
        "TRADD_ALERTS__EMAIL__PASSWORD": "pw-SECRET-2",
    }
    result = run_cli("config", "check", "--config", str(write(tmp_path, toml)), env=secrets)
    assert result.code == 0, result.stderr
    assert "SECRET" not in result.stdout + result.stderr
