"""A params file's content is part of what a worker reads: a reload after the file was
edited must restart that strategy, and only it (the daemon keeps the digests its workers
started with; tests/supervisor/test_promotion.py checks it on a real `tradd run`)."""

from __future__ import annotations

from tests.fixtures.simulator import strategy_entry, worker_settings
from tradd.supervisor.reload import params_digests, plan_reload


def test_an_edited_params_file_changes_its_strategy_only(tmp_path) -> None:
    live = tmp_path / "a.toml"
    live.write_text("[params]\nscript = '1:BUY:10'\n")
    a = strategy_entry("a", params_file=str(live))
    b = strategy_entry("b", client_id=12)
    settings = worker_settings(tmp_path, 4002, "sqlite://", [a, b])
    started = params_digests(settings)
    assert plan_reload(settings, settings, None, None, started, started).changed == ()
    live.write_text("[params]\nscript = '2:BUY:10'\n")
    plan = plan_reload(settings, settings, None, None, started, params_digests(settings))
    assert plan.changed == ("a",) and plan.unchanged == ("b",)
    live.unlink()
    assert params_digests(settings) == {"a": "missing", "b": ""}
