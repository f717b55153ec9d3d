"""The web console's accounts: users with a role and an argon2-hashed password, and API
tokens for scripts (stored as SHA-256, revocable). `UserStore` is the API; `tradd users`
(tradd/cli/users_cmd.py) and the console use it. Details: docs/users.md.
"""

from tradd.users.errors import (
    DuplicateUser,
    InvalidField,
    LastAdmin,
    UnknownToken,
    UnknownUser,
    UserError,
)
from tradd.users.records import IssuedToken, TokenInfo, User
from tradd.users.roles import Role
from tradd.users.store import UserStore

__all__ = [
    "DuplicateUser",
    "InvalidField",
    "IssuedToken",
    "LastAdmin",
    "Role",
    "TokenInfo",
    "UnknownToken",
    "UnknownUser",
    "User",
    "UserError",
    "UserStore",
]
