"""What the user store refuses, as errors the CLI turns into exit 2 and the web console
into 404 (unknown user or token), 409 (duplicate, last admin) or 422 (a bad field).

Every message names the field and, except for a password, the value: a secret is never
repeated back, not even a wrong one.
"""

from __future__ import annotations

from tradd.errors import UsageError


class UserError(UsageError):
    """Something about users or tokens the caller must fix; exit 2 on the command line."""


class InvalidField(UserError):
    """A name, role, password or label breaks its rule; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownUser(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no user {name!r} (see tradd users list)")
        self.name = name


class DuplicateUser(UserError):
    def __init__(self, name: str) -> None:
        super().__init__(f"user {name!r} exists already (tradd users passwd changes its password)")
        self.name = name


class UnknownToken(UserError):
    def __init__(self, name: str, token_id: int) -> None:
        super().__init__(f"user {name!r} has no token {token_id} (see tradd users tokens {name})")
        self.name, self.token_id = name, token_id


class LastAdmin(UserError):
    """Removing, demoting or disabling the only enabled admin would lock everyone out of
    user management in the console."""

    def __init__(self, name: str, action: str) -> None:
        super().__init__(
            f"user {name!r} is the last enabled admin: not {action} (add another admin first)"
        )
        self.name = name
