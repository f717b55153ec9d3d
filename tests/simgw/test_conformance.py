"""No request hangs: every request method of both client libraries, found by reflection.

Each public request method of ``IB`` (``req*``, ``request*``, ``calculate*``,
``exercise*``, ``getWsh*``) is called against one simulator, through the
unmodified library, and must return or raise within a few seconds rather than
wait for the library's own timeout. Errors must come on one of the request ids
the call allocated (a request without an id, like ``requestFA``, is the only
one answered on -1), and never be 320, the simulator's "I did not understand".

docs/simgw.md carries the conformance table. Every method found here must be
listed there as ``implemented``, ``refused like IB (code)`` or ``not
applicable``, and the test holds the simulator to it: an implemented request
gets no error, a refused one gets exactly the documented code on its own id.
A newer library version adds methods; they are called with arguments built
from their signatures, and the table must grow with them.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

import pytest

from tradd.simgw.background import BackgroundGateway

from .conftest import open_market, sim_config, sync

DOC = Path(__file__).resolve().parents[2] / "docs" / "simgw.md"
PREFIXES = ("req", "request", "calculate", "exercise", "getWsh")
BUDGET = 6.0
"""Seconds a call may take: `requestFA` has no id, so it ends on the library's own 4 s."""
LIBRARIES = ("ib_async", "ib_insync")
STATUS = re.compile(r"^(implemented|refused like IB \((\d+)\)|not applicable)$")


def request_methods(lib: ModuleType) -> list[str]:
    """The library's request methods (sync names; each `xAsync` twin is what gets awaited)."""
    return sorted(
        name
        for name, fn in inspect.getmembers(lib.IB, inspect.isfunction)
        if name.startswith(PREFIXES) and not name.endswith("Async")
    )


def documented() -> dict[str, str]:
    """method -> status cell of the conformance table in docs/simgw.md."""
    rows = re.findall(r"^\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|", DOC.read_text(), re.MULTILINE)
    return dict(rows)


@dataclass
class Client:
    lib: ModuleType
    ib: Any
    account: str
    goog: Any
    errors: list[tuple[int, int, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def gateway() -> Iterator[BackgroundGateway]:
    with BackgroundGateway(sim_config()) as gw:
        yield gw


@pytest.fixture(scope="module", params=LIBRARIES)
def client(request: pytest.FixtureRequest, gateway: BackgroundGateway) -> Iterator[Client]:
    lib = importlib.import_module(request.param)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ib = lib.IB()
    ib.connect("127.0.0.1", gateway.port, clientId=LIBRARIES.index(request.param) + 41, timeout=4)
    open_market(gateway, ib, minutes=60)
    goog = ib.qualifyContracts(lib.Stock("GOOG", "SMART", "USD"))[0]
    found = Client(lib, ib, ib.managedAccounts()[0], goog)
    ib.errorEvent += lambda req_id, code, text, *rest: found.errors.append((req_id, code, text))
    yield found
    ib.disconnect()
    asyncio.set_event_loop(None)
    loop.close()


def known_arguments(c: Client) -> dict[str, tuple[Any, ...]]:
    """Sensible arguments for the methods these library versions have."""
    lib, goog, acct = c.lib, c.goog, c.account
    option = lib.Option("GOOG", "20060120", 470.0, "C", "SMART", currency="USD")
    scan = lib.ScannerSubscription(
        instrument="STK", locationCode="STK.US.MAJOR", scanCode="TOP_PERC_GAIN", numberOfRows=5
    )
    wsh = lib.WshEventData(conId=goog.conId)
    return {
        "calculateImpliedVolatility": (option, 5.0, 466.0),
        "calculateOptionPrice": (option, 0.3, 466.0),
        "exerciseOptions": (option, 1, 1, acct, 0),
        "getWshEventData": (wsh,),
        "reqAccountUpdates": (acct,),
        "reqAccountUpdatesMulti": (acct, ""),
        "reqAutoOpenOrders": (True,),
        "reqCompletedOrders": (False,),
        "reqContractDetails": (goog,),
        "reqFundamentalData": (goog, "ReportsFinSummary"),
        "reqHeadTimeStamp": (goog, "TRADES", True),
        "reqHistogramData": (goog, True, "3 days"),
        "reqHistoricalData": (goog, "", "1 D", "1 hour", "TRADES", True),
        "reqHistoricalNews": (goog.conId, "BRFG", "20060101 00:00:00", "20060110 00:00:00", 10),
        "reqHistoricalSchedule": (goog, 5),
        "reqHistoricalTicks": (goog, "20060110 10:00:00", "", 100, "TRADES", True),
        "reqMarketDataType": (1,),
        "reqMarketRule": (26,),
        "reqMatchingSymbols": ("GO",),
        "reqMktData": (goog,),
        "reqMktDepth": (goog,),
        "reqNewsArticle": ("BRFG", "BRFG$04fb9da2"),
        "reqNewsBulletins": (True,),
        "reqPnL": (acct,),
        "reqPnLSingle": (acct, "", goog.conId),
        "reqRealTimeBars": (goog, 5, "TRADES", False),
        "reqScannerData": (scan,),
        "reqScannerSubscription": (scan,),
        "reqSecDefOptParams": ("GOOG", "", "STK", goog.conId),
        "reqSmartComponents": ("9c0001",),
        "reqTickByTickData": (goog, "Last"),
        "reqTickers": (goog,),
        "reqWshEventData": (wsh,),
        "requestFA": (1,),
    }


def prepare(c: Client, name: str) -> None:
    """The library keeps one WSH request of each kind; a refused one is never cleared."""
    wrapper = c.ib.wrapper
    if name == "reqWshMetaData" and wrapper.wshMetaReqId:
        c.ib.cancelWshMetaData()
    if name == "reqWshEventData" and wrapper.wshEventReqId:
        c.ib.cancelWshEventData()


def generic_arguments(c: Client, fn: Callable[..., Any]) -> tuple[Any, ...]:
    """Arguments for a method this test does not know, from its required parameters."""
    hints = get_type_hints(fn)
    by_name: dict[str, Any] = {"account": c.account, "conId": c.goog.conId}
    args: list[Any] = []
    for name, param in inspect.signature(fn).parameters.items():
        if name == "self" or param.default is not inspect.Parameter.empty:
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        args.append(by_name[name] if name in by_name else _value_for(c, hints.get(name)))
    return tuple(args)


def _value_for(c: Client, hint: Any) -> Any:
    simple: dict[Any, Any] = {str: "", int: 0, float: 0.0, bool: False, list: []}
    for kind in getattr(hint, "__args__", None) or (hint,):
        if isinstance(kind, type) and issubclass(kind, c.lib.Contract):
            return c.goog
        if kind in (datetime, date):
            return ""
        if kind in simple:
            return simple[kind]
        if inspect.isclass(kind):
            return kind()
    return None


@dataclass
class Outcome:
    seconds: float
    ids: range
    errors: list[tuple[int, int, str]]
    raised: BaseException | None
    library_waits: bool = False


def call(c: Client, name: str, args: tuple[Any, ...], *, strict: bool = True) -> Outcome:
    """Await the method's `Async` twin under a deadline (the sync one when it has none).

    Not ``strict`` (a method called with generic arguments): a call the simulator
    refused on its own id counts as answered even if the library keeps waiting, as
    ib_async does on warning codes such as 321; nonsense arguments earn a refusal.
    """
    ib = c.ib
    seq_before, errors_before = ib.client._reqIdSeq, len(c.errors)
    started = time.monotonic()
    raised: BaseException | None = None
    library_waits = False
    try:
        twin = getattr(ib, name + "Async", None)
        if twin is None:
            getattr(ib, name)(*args)
        else:  # the twin with the sync method's defaults (some twins have none)
            bound = inspect.signature(getattr(ib, name)).bind(*args)
            bound.apply_defaults()
            ib.run(asyncio.wait_for(_awaitable(twin(*bound.args, **bound.kwargs)), BUDGET))
    except TimeoutError:
        refused = any(
            e[0] in range(seq_before, ib.client._reqIdSeq) for e in c.errors[errors_before:]
        )
        if strict or not refused:
            raise AssertionError(f"{name} did not complete within {BUDGET}s") from None
        library_waits = True
    except TypeError:
        raise  # the test called it wrongly: nothing was asked of the simulator
    except Exception as exc:  # a refusal may surface as RequestError
        raised = exc
    seconds = time.monotonic() - started
    sync(ib)  # replies (and errors) to the request have all arrived
    return Outcome(seconds, range(seq_before, ib.client._reqIdSeq),
                   c.errors[errors_before:], raised, library_waits)  # fmt: skip


async def _awaitable(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


def test_every_request_is_answered_on_its_own_id(client: Client) -> None:
    table = documented()
    known = known_arguments(client)
    problems: list[str] = []
    started = time.monotonic()
    for name in request_methods(client.lib):
        fn = getattr(client.lib.IB, name)
        args = known[name] if name in known else generic_arguments(client, fn)
        prepare(client, name)
        outcome = call(client, name, args, strict=name in known)
        problems += _judge(name, outcome, table.get(name, ""))
    assert not problems, "\n".join(problems)
    assert time.monotonic() - started < 30 + BUDGET * len(
        set(request_methods(client.lib)) - set(known)
    )


def _judge(name: str, outcome: Outcome, status: str) -> list[str]:
    """What is wrong with one call's outcome, given the documented status."""
    out = []
    if outcome.seconds > BUDGET and not outcome.library_waits:
        out.append(f"{name}: took {outcome.seconds:.1f}s")
    notices = [e for e in outcome.errors if not 2100 <= e[1] < 2200]
    for req_id, code, text in notices:
        if code == 320:
            out.append(f"{name}: simulator could not read the request: {text}")
        elif req_id not in outcome.ids and not (req_id == -1 and not outcome.ids):
            out.append(f"{name}: error {code} on id {req_id}, not its own {outcome.ids}")
    codes = sorted({code for _, code, _ in notices})
    match = STATUS.match(status)
    if match is None:
        return [*out, f"{name}: docs/simgw.md has no conformance row (or a bad one): {status!r}"]
    if match.group(1) == "implemented" and codes:
        out.append(f"{name}: documented as implemented but refused with {codes}")
    if match.group(2) and codes != [int(match.group(2))]:
        out.append(f"{name}: documented as refused with {match.group(2)}, got {codes}")
    return out


@pytest.mark.parametrize("library", LIBRARIES)
def test_doc_lists_every_request_of_the_library(library: str) -> None:
    table = documented()
    missing = [n for n in request_methods(importlib.import_module(library)) if n not in table]
    assert not missing, f"docs/simgw.md conformance table lacks {missing}"
    bad = {n: s for n, s in table.items() if not STATUS.match(s)}
    assert not bad, f"rows whose status is not implemented/refused like IB (code)/n.a.: {bad}"


def test_generic_arguments_fit_every_request_and_reach_the_simulator(client: Client) -> None:
    """What a newer library's unknown method would get: arguments that bind, and a call
    the simulator answers (a refusal on its own id counts when the library keeps waiting)."""
    for name in request_methods(client.lib):
        fn = getattr(client.lib.IB, name)
        inspect.signature(fn).bind(client.ib, *generic_arguments(client, fn))
    args = generic_arguments(client, client.lib.IB.reqHistoricalData)  # empty bar size: refused
    outcome = call(client, "reqHistoricalData", args, strict=False)
    codes = [code for _, code, _ in outcome.errors]
    assert codes == [321] and outcome.errors[0][0] in outcome.ids


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_message_the_client_can_send_has_a_route(
    library: str, gateway: BackgroundGateway
) -> None:
    """Below the `IB` methods: every message id the library's `Client` writes is routed,
    so none can meet "unknown message id" (320 on -1, which no caller can be tied to)."""
    source = Path(importlib.import_module(f"{library}.client").__file__ or "").read_text()
    pairs = re.findall(r"self\.send\(\s*(\d+)|fields\s*=\s*\[\s*(\d+)", source)
    sent = {int(a or b) for a, b in pairs}
    assert len(sent) >= 80  # the scan still finds the library's messages
    assert sorted(sent - set(gateway.gw.dispatch.routes)) == []
