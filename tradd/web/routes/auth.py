"""Log in, log out, who am I. A login answers the same 401 for an unknown user, a wrong
password and a disabled account, and is rate limited per user name and address."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import SecretStr

from tradd.users.records import User
from tradd.web.auth.deps import Context, caller
from tradd.web.auth.sessions import COOKIE, expires_in
from tradd.web.records import LoginRequest, Me

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
log = structlog.get_logger("tradd.web")


@router.post("/login", responses={401: {}, 429: {}})
def login(body: LoginRequest, request: Request, response: Response, ctx: Context) -> Me:
    """Open a browser session: sets the HttpOnly session cookie; answers the CSRF token."""
    address = request.client.host if request.client else "-"
    wait = ctx.limiter.retry_after(body.username, address)
    if wait is not None:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many failed logins: try again in {wait:.0f} s",
                            headers={"Retry-After": str(int(wait))})  # fmt: skip
    user = ctx.users.authenticate(body.username, SecretStr(body.password))
    if user is None:
        ctx.limiter.failed(body.username, address)
        log.warning("login refused", user=body.username, address=address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    ctx.limiter.succeeded(body.username, address)
    key, session = ctx.sessions.open(user.name)
    response.set_cookie(COOKIE, key, max_age=expires_in(session, ctx.clock()), httponly=True,
                        samesite="strict", secure=ctx.secure_cookies, path="/")  # fmt: skip
    log.info("logged in", user=user.name, address=address)
    return Me(name=user.name, role=user.role.value, csrf_token=session.csrf)


@router.post("/logout")
def logout(request: Request, response: Response, ctx: Context,
           user: Annotated[User, Depends(caller)]) -> dict[str, bool]:  # fmt: skip
    ctx.sessions.close(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=ctx.secure_cookies)  # fmt: skip
    return {"logged_out": True}


@router.get("/me")
async def me(request: Request, ctx: Context, user: Annotated[User, Depends(caller)]) -> Me:
    """The caller, and (for a browser session) the CSRF token its page must send."""
    session = ctx.sessions.get(request.cookies.get(COOKIE))
    return Me(name=user.name, role=user.role.value, csrf_token=session.csrf if session else None)
