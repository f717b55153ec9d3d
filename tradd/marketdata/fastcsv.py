"""Column-at-once reading of well-formed bar files, the common case of every start-up.

The row parser (`formats.parse_lines`) spends ~25 us per row in Python; a simulator
start reads ~38k rows, so it dominated start-up. This module reads the same text a
column at a time: numbers through the very same ``float`` the row parser calls, timestamps
from their digits with numpy. It accepts only what it can read exactly as the row parser
would and answers None for anything else (quotes, blank lines, odd line endings, a
field count that differs, a timestamp shape other than YYYY-MM-DD[ T]HH:MM:SS, an
impossible date, a non-finite number...). The caller then parses row by row, so every
problem is still reported by the row parser, with its line and value.
"""

from __future__ import annotations

import csv
from itertools import repeat

import numpy as np
import numpy.typing as npt

TimeArray = npt.NDArray[np.datetime64]
FloatArray = npt.NDArray[np.float64]

_DATETIME_LENGTH = 19
_SEPARATORS = {
    10: {4: b"-", 7: b"-"},
    _DATETIME_LENGTH: {4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":"},
}
"""Length of a timestamp: the bytes allowed at its non-digit places."""


def split_regular(text: str) -> tuple[str, list[str]] | None:
    """The header line and the data lines of a text the row parser would read line for
    line, or None. Line i of the result is file line i + 2: no line is blank, no field is
    quoted, lines end in LF or CRLF only, everything is ASCII without NUL."""
    if not text.isascii() or '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None  # a lone CR is a line break to the csv reader
        text = text.replace("\r\n", "\n")
    header, _, body = text.partition("\n")
    if body.endswith("\n"):
        body = body[:-1]
    if not body:
        return None
    lines = body.split("\n")
    if max(map(len, lines)) >= csv.field_size_limit():
        return None  # the csv reader refuses such a field
    return header, lines


def read_columns(
    lines: list[str], width: int, time_index: int, value_indices: list[int | None]
) -> tuple[TimeArray, FloatArray] | None:
    """Timestamps (datetime64[s]) and an (n, len(value_indices)) float array of the lines,
    or None when any line is not exactly as the row parser would accept it. A value index
    of None is a column the layout lacks: zeros, as the row parser gives."""
    if set(map(str.count, lines, repeat(","))) != {width - 1}:
        return None
    fields = ",".join(lines).split(",")
    n = len(lines)
    times = parse_timestamps(fields[time_index::width])
    if times is None:
        return None
    values = np.zeros((n, len(value_indices)), dtype=np.float64)
    try:
        for k, index in enumerate(value_indices):
            if index is not None:
                values[:, k] = _floats(fields[index::width])
    except ValueError:
        return None
    if not np.isfinite(values).all():
        return None
    return times, values


def parse_timestamps(texts: list[str]) -> TimeArray | None:
    """datetime64[s] of 'YYYY-MM-DD' or 'YYYY-MM-DD[T ]HH:MM:SS' strings, all of one
    shape and all valid dates and times (what `datetime.fromisoformat` gives for them);
    None for anything else."""
    size = len(texts[0])
    joined = "".join(texts)
    if size not in _SEPARATORS or len(joined) != size * len(texts):
        return None
    chars = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(texts), size)
    separators_ok = all(bool(np.isin(chars[:, i], list(allowed)).all())
                        for i, allowed in _SEPARATORS[size].items())  # fmt: skip
    positions = [i for i in range(size) if i not in _SEPARATORS[size]]
    digits = chars[:, positions].astype(np.int64) - ord("0")
    if not separators_ok or not ((digits >= 0) & (digits <= 9)).all():
        return None
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    pairs = digits[:, 4::2] * 10 + digits[:, 5::2]  # month, day[, hour, minute, second]
    months = ((year - 1970) * 12 + pairs[:, 0] - 1).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + (pairs[:, 1] - 1).astype("timedelta64[D]")
    valid = (year >= 1) & (pairs[:, 0] >= 1) & (pairs[:, 0] <= 12) & (pairs[:, 1] >= 1)
    valid &= dates.astype("datetime64[M]") == months  # not a day past the end of its month
    seconds = np.zeros(len(texts), dtype=np.int64)
    if size == _DATETIME_LENGTH:
        hour, minute, second = pairs[:, 2], pairs[:, 3], pairs[:, 4]
        valid &= (hour <= 23) & (minute <= 59) & (second <= 59)
        seconds = hour * 3600 + minute * 60 + second
    stamps: TimeArray = dates.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    return stamps if valid.all() else None


def _floats(texts: list[str]) -> FloatArray:
    """``float`` of every text; each distinct text is parsed once (intraday prices repeat
    a few hundred values over tens of thousands of bars)."""
    distinct = set(texts)
    if 2 * len(distinct) > len(texts):
        return np.fromiter(map(float, texts), np.float64, len(texts))
    value = {text: float(text) for text in distinct}
    return np.fromiter(map(value.__getitem__, texts), np.float64, len(texts))
