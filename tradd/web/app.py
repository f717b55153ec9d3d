"""`create_app`: the console's FastAPI application over a `WebContext`.

Errors are sorted by what the caller can do next, as JSON `{"detail": ...}`: 422 names
the field and the bad value; 401/403 say who may; 404 an unknown (or another user's)
job; 409 a job in the wrong state; 429 a limit; 503 the daemon or the database down.
Nothing ever answers with a stack trace: an unexpected error is logged with its trace
and answered 500 "internal error" with a reference to find it in the log.
"""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradd.errors import TemporaryError
from tradd.web.context import WebContext
from tradd.web.daemon import DaemonDown
from tradd.web.records import Problem
from tradd.web.routes import (
    audit,
    auth,
    data,
    drift,
    jobs,
    live,
    optimizer,
    pages,
    proposals,
    schedules,
)  # fmt: skip
from tradd.web.security import Hardened

OPENAPI = "/api/v1/openapi.json"
log = structlog.get_logger("tradd.web")
DATABASE_DOWN = "database unavailable: nothing done; try again"
HIDDEN_INPUTS = frozenset({"password"})
"""Fields whose value an error never repeats."""


def create_app(ctx: WebContext) -> Any:
    """The ASGI app: FastAPI wrapped in the security headers and the body limit."""
    app = FastAPI(
        title="tradd console API",
        version="1",
        openapi_url=OPENAPI,
        docs_url=None,  # Swagger UI loads from a CDN: never
        redoc_url=None,
        responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
    )
    app.state.ctx = ctx
    for module in (auth, optimizer, data, jobs, live, drift, proposals, schedules, audit,
                   pages):  # fmt: skip
        app.include_router(module.router)
    pages.mount_static(app)
    _handlers(app)
    web = ctx.settings.web
    return Hardened(app, web.max_body_bytes, hsts=ctx.secure_cookies)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_error(e) for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": detail, "errors": errors},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))  # fmt: skip

    @app.exception_handler(DaemonDown)
    async def daemon_down(request: Request, exc: DaemonDown) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable", path=request.url.path, error=str(exc).split("\n")[0])
        return JSONResponse({"detail": DATABASE_DOWN}, status_code=503)

    @app.exception_handler(TemporaryError)
    async def temporary(request: Request, exc: TemporaryError) -> JSONResponse:
        """The stores' transactions turn a database out of reach into TemporaryError
        ("database unavailable: <the driver's words>"): the caller gets no server names."""
        log.warning("temporarily unavailable", path=request.url.path, error=str(exc))
        database = str(exc).startswith("database unavailable")
        return JSONResponse({"detail": DATABASE_DOWN if database else "temporarily "
                             "unavailable: nothing done; try again"}, status_code=503)  # fmt: skip

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        reference = secrets.token_hex(4)
        log.error("internal error", path=request.url.path, reference=reference, exc_info=exc)
        return JSONResponse({"detail": f"internal error (reference {reference} in the "
                             "console's log)"}, status_code=500)  # fmt: skip


def _error(error: Any) -> dict[str, Any]:
    location = [str(p) for p in error.get("loc", ())]
    if location and location[0] in ("body", "query", "path"):
        location = location[1:]
    kind = error.get("type")
    if kind == "json_invalid":  # its location is a character position, not a field
        reason = (error.get("ctx") or {}).get("error") or "invalid"
        where = f" at character {location[0]}" if location else ""
        return {"field": "body", "message": f"malformed JSON: {reason}{where}"}
    field = ".".join(location) or "body"
    out: dict[str, Any] = {"field": field, "message": str(error.get("msg", "invalid"))}
    shown = "input" in error and location and kind != "missing"  # a missing field's input
    if shown and not HIDDEN_INPUTS & set(location):  # is the object around it: not its value
        value = error["input"]
        text = repr(value)
        out["message"] += f" (got {text if len(text) <= 80 else text[:77] + '...'})"
    return out
