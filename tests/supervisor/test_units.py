"""The supervisor's pure parts: restart policy, state machine, reload plan."""

from __future__ import annotations

import pytest

from tests.fixtures.simulator import strategy_entry, worker_settings
from tradd.config.daemon import SupervisorSettings
from tradd.records.states import TransitionError, WorkerState, check_transition
from tradd.supervisor.policy import RestartPolicy
from tradd.supervisor.reload import plan_reload


def test_backoff_doubles_up_to_the_maximum_then_a_crash_loop_is_fatal() -> None:
    policy = RestartPolicy(SupervisorSettings(backoff_initial=1, backoff_max=4, crash_limit=5,
                                              crash_window=100, stable_after=50))  # fmt: skip
    assert [policy.on_crash(t, 1.0) for t in (0, 1, 2, 3)] == [1, 2, 4, 4]
    assert policy.on_crash(4, 1.0) is None


def test_old_crashes_leave_the_window_and_a_stable_run_resets_the_backoff() -> None:
    policy = RestartPolicy(SupervisorSettings(backoff_initial=1, backoff_max=60, crash_limit=3,
                                              crash_window=10, stable_after=5))  # fmt: skip
    assert policy.on_crash(0, 1) == 1 and policy.on_crash(1, 1) == 2
    assert policy.on_crash(20, 6) == 1  # the first two are out of the window; it ran 6 s
    policy.reset()
    assert policy.on_crash(21, 1) == 1


def test_the_state_machine_refuses_undocumented_transitions() -> None:
    check_transition(WorkerState.STOPPED, WorkerState.STARTING)
    check_transition(WorkerState.RUNNING, WorkerState.BACKOFF)
    with pytest.raises(TransitionError, match="STOPPED -> RUNNING"):
        check_transition(WorkerState.STOPPED, WorkerState.RUNNING)
    with pytest.raises(TransitionError):
        check_transition(WorkerState.FATAL, WorkerState.RUNNING)


def test_reload_plan_sees_shared_sections_and_overrides(tmp_path) -> None:
    a, b = strategy_entry("a"), strategy_entry("b", client_id=12)
    old = worker_settings(tmp_path, 4002, "sqlite://", [a, b])
    same = worker_settings(tmp_path, 4002, "sqlite://", [a, b])
    assert plan_reload(old, same).unchanged == ("a", "b")
    risky = worker_settings(
        tmp_path, 4002, "sqlite://", [a, {**b, "risk": {"max_orders_per_minute": {"limit": 3}}}]
    )
    assert plan_reload(old, risky).changed == ("b",)
    moved = worker_settings(tmp_path, 4003, "sqlite://", [a, b])
    assert plan_reload(old, moved).changed == ("a", "b")
    disabled = worker_settings(tmp_path, 4002, "sqlite://", [a, {**b, "enabled": False}])
    plan = plan_reload(old, disabled)
    assert plan.removed == ("b",) and plan.unchanged == ("a",)


def test_reload_plan_restarts_the_strategies_whose_contract_definitions_changed(tmp_path) -> None:
    """contracts.toml is not a setting: a changed multiplier or session of a symbol must
    still restart the strategies trading it, and only them."""
    from tradd.marketdata.contracts import ContractDefinitions, ContractSpec

    fut, stock = strategy_entry("fut", symbols=["IDXFUT"]), strategy_entry("stk", client_id=12)
    settings = worker_settings(tmp_path, 4002, "sqlite://", [fut, stock])
    spec = ContractSpec(symbol="IDXFUT", sec_type="FUT", multiplier=10, time_zone="MET")
    before = ContractDefinitions({"IDXFUT": spec})
    after = ContractDefinitions({"IDXFUT": spec.model_copy(update={"multiplier": 25.0})})
    assert plan_reload(settings, settings, before, before).changed == ()
    plan = plan_reload(settings, settings, before, after)
    assert plan.changed == ("fut",) and plan.unchanged == ("stk",)
    assert plan_reload(settings, settings, before, ContractDefinitions({})).changed == ("fut",)
