"""What every record shares: frozen, strict about keys, plain JSON on the wire, and a
validation failure told as one line that names the field and the value."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class Record(BaseModel):
    """Frozen, and strict about keys: a field the other side does not know is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def wire(record: BaseModel) -> dict[str, Any]:
    """A record as plain JSON data, as the sockets carry it."""
    return record.model_dump(mode="json")


def problem(exc: ValidationError) -> str:
    """The first thing wrong, naming the field and the value: "positions.GOOG.quantity:
    Input should be a valid number (got 'ten')"; and how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(the record)"
    text = f"{where}: {first['msg']} (got {first['input']!r:.80})"
    return text + (f"; and {len(errors) - 1} more" if len(errors) > 1 else "")
