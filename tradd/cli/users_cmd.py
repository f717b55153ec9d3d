"""`tradd users add|passwd|list|remove|role|disable|enable|token|tokens`: the web
console's accounts, in the configuration's database.

A password is asked for twice on a terminal (getpass, not echoed); otherwise it is one
line of standard input, so scripts can pipe it in: `printf '%s\\n' "$PW" | tradd users add
bob --role trader`. It is never an argument, where `ps` and the shell history would show
it. A new token is the only thing printed on standard output by `tradd users token`, so
`TOKEN=$(tradd users token bob)` keeps it; the rest goes to standard error.

Exit codes: 0 done; 1 database unavailable; 2 usage: a bad name, role, password or label,
an unknown user or token, a duplicate name, the last enabled admin.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import SecretStr

from tradd.cli.common import settings_for
from tradd.cli.config_cmd import ConfigOption
from tradd.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tradd.users import TokenInfo, User

app = typer.Typer(help="Web console accounts: users, roles, passwords, API tokens.",
                  no_args_is_help=True)  # fmt: skip

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
RoleOption = Annotated[
    str, typer.Option("--role", help="viewer (reads), trader (runs, executes), admin (all).")
]


@app.command("add")
def add(name: NameArgument, role: RoleOption = "viewer", config: ConfigOption = None) -> None:
    """A new user; the password is asked for (or read from standard input)."""
    from tradd.users import DuplicateUser, Role
    from tradd.users.open import open_user_store
    from tradd.users.rules import check_name, check_password

    parsed = Role.parse(role)
    check_name(name)
    with open_user_store(settings_for(config)) as store:
        if store.get(name) is not None:  # before asking for a password that would go nowhere
            raise DuplicateUser(name)
        password = check_password(read_password(f"password for {name}: "))
        user = store.add(name, parsed, password)
    typer.echo(f"added user {user.name!r} ({user.role})")


@app.command("passwd")
def passwd(name: NameArgument, config: ConfigOption = None) -> None:
    """Set a user's password (asked for, or read from standard input)."""
    from tradd.users import UnknownUser
    from tradd.users.open import open_user_store
    from tradd.users.rules import check_password

    with open_user_store(settings_for(config)) as store:
        if store.get(name) is None:  # before asking for a password that would go nowhere
            raise UnknownUser(name)
        password = check_password(read_password(f"new password for {name}: "))
        store.set_password(name, password)
    typer.echo(f"password of {name!r} changed")


@app.command("list")
def list_users(json_output: JsonOption = False, config: ConfigOption = None) -> None:
    """Every user: name, role, created, password changed, disabled. Never a hash."""
    from tradd.users.open import open_user_store

    with open_user_store(settings_for(config)) as store:
        users = store.list()
    if json_output:
        _print_json([user.model_dump(mode="json") for user in users])
    else:
        _print_users(users)


@app.command("remove")
def remove(name: NameArgument, config: ConfigOption = None) -> None:
    """Delete a user and their tokens (not the last enabled admin)."""
    from tradd.users.open import open_user_store

    with open_user_store(settings_for(config)) as store:
        store.remove(name)
    typer.echo(f"removed user {name!r} and their tokens")


@app.command("role")
def role(
    name: NameArgument,
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="viewer, trader or admin.")],
    config: ConfigOption = None,
) -> None:
    """Change a user's role (the last enabled admin stays one)."""
    from tradd.users import Role
    from tradd.users.open import open_user_store

    parsed = Role.parse(new_role)
    with open_user_store(settings_for(config)) as store:
        user = store.set_role(name, parsed)
    typer.echo(f"{user.name!r} is now {user.role}")


@app.command("disable")
def disable(name: NameArgument, config: ConfigOption = None) -> None:
    """Stop a user's logins and tokens without deleting anything."""
    _set_disabled(name, True, config)


@app.command("enable")
def enable(name: NameArgument, config: ConfigOption = None) -> None:
    """Let a disabled user log in again."""
    _set_disabled(name, False, config)


@app.command("token")
def token(
    name: NameArgument,
    label: Annotated[
        str | None, typer.Option("--label", help="What the token is for, e.g. a script.")
    ] = None,
    revoke: Annotated[
        int | None, typer.Option("--revoke", metavar="ID", help="Revoke this token instead.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print a new API token for NAME (shown once), or revoke one with --revoke ID."""
    from tradd.users.open import open_user_store

    if revoke is not None and label is not None:
        raise UsageError("--label and --revoke: give one of them")
    with open_user_store(settings_for(config)) as store:
        if revoke is not None:
            before = next((t for t in store.tokens(name) if t.id == revoke), None)
            info = store.revoke_token(name, revoke)
            already = before is not None and not before.active
            typer.echo(f"token {info.id} of {name!r} {'was already' if already else 'is'} revoked")
            return
        issued = store.issue_token(name, label)
    typer.echo(issued.token.get_secret_value())
    typer.echo(
        f"token {issued.info.id} for {name!r}: shown this once, store it now "
        f"(send it as 'Authorization: Bearer TOKEN'; revoke: tradd users token {name} "
        f"--revoke {issued.info.id})",
        err=True,
    )


@app.command("tokens")
def tokens(
    name: NameArgument, json_output: JsonOption = False, config: ConfigOption = None
) -> None:
    """A user's API tokens: id, label, created, last used, revoked. Never the token."""
    from tradd.users.open import open_user_store

    with open_user_store(settings_for(config)) as store:
        found = store.tokens(name)
    if json_output:
        _print_json([t.model_dump(mode="json") for t in found])
    else:
        _print_tokens(name, found)


def read_password(prompt: str) -> SecretStr:
    """On a terminal: asked twice, not echoed. Otherwise: one line of standard input
    (its line end removed; nothing else, spaces count)."""
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        first = getpass.getpass(prompt)
        from tradd.users.rules import check_password

        check_password(SecretStr(first))  # before asking again for a password refused anyway
        if getpass.getpass("again: ") != first:
            raise UsageError("password: the two entries differ; nothing changed")
        return SecretStr(first)
    line = stdin.readline() if stdin is not None else ""
    return SecretStr(line.removesuffix("\n").removesuffix("\r"))


def _set_disabled(name: str, disabled: bool, config: Any) -> None:
    from tradd.users.open import open_user_store

    with open_user_store(settings_for(config)) as store:
        store.set_disabled(name, disabled)
    typer.echo(f"{name!r} {'disabled' if disabled else 'enabled'}")


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _print_users(users: Sequence[User]) -> None:
    from rich.table import Table

    from tradd.cli.common import report_console

    console = report_console()
    if not users:
        console.print("no users (the web console creates 'admin' on its first start)")
        return
    table = Table(title="users")
    for column in ("name", "role", "created (UTC)", "password changed (UTC)", "state"):
        table.add_column(column)
    for user in users:
        state = "disabled" if user.disabled else "enabled"
        table.add_row(user.name, user.role.value, _when(user.created_at),
                      _when(user.password_changed_at), state)  # fmt: skip
    console.print(table)


def _print_tokens(name: str, found: Sequence[TokenInfo]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from tradd.cli.common import report_console

    console = report_console()
    if not found:
        console.print(f"{name!r} has no API tokens (tradd users token {name} makes one)")
        return
    table = Table(title=f"API tokens of {name}")
    for column in ("id", "label", "created (UTC)", "last used (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for info in found:
        table.add_row(str(info.id), escape(info.label or "-"), _when(info.created_at),
                      _when(info.last_used_at), _when(info.revoked_at))  # fmt: skip
    console.print(table)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))
