"""The base of every config section, shared by the section modules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base for config sections: immutable, and a typo is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
