"""The three roles of the web console, ordered: viewer < trader < admin.

`Role` is a `StrEnum`, so it is stored, sent and printed as its plain value ("trader"),
but its comparisons follow the order of rights, not the alphabet (as a plain `str`
"admin" < "viewer"), so that "at least a trader" is one comparison:
`user.role >= Role.TRADER`. Comparing a role with anything but a role is a TypeError
rather than a silent comparison of spellings.
"""

from __future__ import annotations

from enum import StrEnum

from tradd.users.errors import InvalidField


class Role(StrEnum):
    """viewer reads; trader also runs jobs, executes entries, pauses and resumes; admin
    also flattens all and manages users."""

    VIEWER = "viewer"
    TRADER = "trader"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for viewer, 1 for trader, 2 for admin: the declaration order."""
        return list(Role).index(self)

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named `text`; InvalidField naming the field and value otherwise."""
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(role.value for role in cls)
            raise InvalidField("role", f"role {text!r}: use one of {choices}") from None

    def _rank_of(self, other: object) -> int:
        if not isinstance(other, Role):
            raise TypeError(f"a Role compares only with a Role, not {type(other).__name__}")
        return other.rank

    def __lt__(self, other: object) -> bool:
        return self.rank < self._rank_of(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= self._rank_of(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > self._rank_of(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= self._rank_of(other)
