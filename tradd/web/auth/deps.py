"""FastAPI dependencies: the caller (session cookie or Bearer token), CSRF, roles.

A state-changing request (anything but GET/HEAD/OPTIONS) that comes with the session
cookie must carry that session's CSRF token in `X-CSRF-Token`; one with a Bearer token
carries no cookie a browser could send on its own, so it needs none. A user disabled, or
whose password changed after the session opened, is logged out on their next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from pydantic import SecretStr

from tradd.users.records import User
from tradd.users.roles import Role
from tradd.web.auth.sessions import COOKIE, CSRF_HEADER, csrf_matches
from tradd.web.context import WebContext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


Context = Annotated[WebContext, Depends(context)]


async def caller(request: Request, ctx: Context) -> User:
    """The authenticated user; 401 if none, 403 on a missing or wrong CSRF token.

    `async` on purpose, like every dependency here: FastAPI runs a plain function in its
    thread pool, one hop per dependency per request, which is most of the cost of a
    status poll; the one indexed read this makes is shorter than a hop."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = ctx.users.authenticate_token(SecretStr(header[7:].strip()))
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API token",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        return user
    key = request.cookies.get(COOKIE)
    session = ctx.sessions.get(key)
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not logged in",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    user = ctx.users.get(session.user)
    if user is None or user.disabled or user.password_changed_at > session.created_at:
        ctx.sessions.close(key)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session ended: log in again")
    if request.method not in SAFE_METHODS and not csrf_matches(
        session, request.headers.get(CSRF_HEADER)
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"missing or wrong {CSRF_HEADER}: nothing done")  # fmt: skip
    return user


def require(role: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency: the caller, if they have at least `role`'s rights; else 403."""

    async def check(user: Annotated[User, Depends(caller)]) -> User:
        if not user.can(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"needs the {role.value} role; {user.name} is {user.role.value}",
            )
        return user

    return check


Viewer = Annotated[User, Depends(require(Role.VIEWER))]
Trader = Annotated[User, Depends(require(Role.TRADER))]
Admin = Annotated[User, Depends(require(Role.ADMIN))]
