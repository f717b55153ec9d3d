"""The replay's shortcuts give exactly what the plain computation gives.

``Tape.bar_index`` tries the bar it found last before a binary search, account updates
reuse their frames while the rows stand still, and ``payload`` joins fields in one go:
each is checked here against the straightforward version it replaced.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SAMPLE_DATA
from tradd.marketdata.store import DataStore
from tradd.simgw import encode
from tradd.simgw.account_frames import AccountFrames
from tradd.simgw.contracts import instrument_for
from tradd.simgw.tape import Tape
from tradd.simgw.wire import FieldValue, fmt, payload
from tradd.simgw.wire import encode as encode_message


def _searched(tape: Tape, t: int) -> int | None:
    i = int(np.searchsorted(tape.starts, t, side="right")) - 1
    return None if i < 0 or t >= tape.ends[i] else i


@pytest.mark.parametrize(("symbol", "bar"), [("GOOG", "1d"), ("IDXFUT", "1m")])
def test_bar_index_is_the_binary_search_in_any_order(symbol: str, bar: str) -> None:
    tape = Tape(instrument_for(symbol), DataStore(SAMPLE_DATA).load(symbol, bar), seed=0)
    first, last = tape.first_time - 86_400, tape.first_time + 6 * 86_400
    walk = list(range(first, last, 5))  # the replay: every bucket in order
    rng = np.random.default_rng(1)
    jumps = [int(t) for t in rng.integers(first - 86_400, tape.last_time + 86_400, 2000)]
    edges = [int(t) + d for t in tape.starts[:50] for d in (-1, 0, 1)]
    edges += [int(t) + d for t in tape.ends[:50] for d in (-1, 0, 1)]
    for t in walk + jumps + edges + walk[::-1]:
        assert tape.bar_index(t) == _searched(tape, t), t


def test_account_frames_are_the_messages_encoded_afresh() -> None:
    frames = AccountFrames()
    rows = [("AccountCode", "DU1", ""), ("NetLiquidation", "1000000.00", "USD")]
    for account, current in [("DU1", rows), ("DU1", rows), ("DU2", rows),
                             ("DU2", [*rows[:1], ("NetLiquidation", "999.50", "USD")])]:  # fmt: skip
        assert frames.updates(account, current) == [
            encode_message(encode.account_value(k, v, c, account)) for k, v, c in current
        ]
        for req_id in (1, 42):
            assert frames.multi(account, current, req_id) == [
                encode_message(encode.account_update_multi(req_id, account, k, v, c))
                for k, v, c in current
            ]


class _Text(str):
    """A str subclass (as an enum's value may be): formatted through ``fmt``."""


@pytest.mark.parametrize(
    "fields",
    [[], [""], [None], ["", ""], [True, False, 0, -1, 2.5, 1e-20, float("nan"), "é", None],
     [6, 2, "NetLiquidation", "1000000.00", "USD", "DU0000001"], [_Text("x"), _Text("")]],
)  # fmt: skip
def test_payload_is_every_field_nul_terminated(fields: list[FieldValue]) -> None:
    assert payload(fields) == "".join(fmt(f) + "\0" for f in fields).encode()
    assert payload(iter(fields)) == payload(fields)
