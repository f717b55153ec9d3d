"""The HTML pages: static shells whose scripts (same origin, no inline script) call the
API. Each page is `static/<name>.html` with `static/<name>.js`; the shared helpers are
`static/common.js` (API calls with the CSRF token, safe DOM building) and `app.css`.
A page itself needs no login (it is the same for everyone); its script asks the API,
which does, and sends the browser to /login on a 401."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(str(files("tradd.web") / "static"))
PAGES = ("login", "optimizer", "jobs", "research", "live", "proposals")

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/optimizer", status_code=303)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for it on every page: answer it, or each page logs a 404 error."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def _page(name: str) -> None:
    def serve() -> FileResponse:
        return FileResponse(STATIC / f"{name}.html", media_type="text/html")

    router.add_api_route(f"/{name}", serve, methods=["GET"], name=f"page_{name}")


for _name in PAGES:
    _page(_name)


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
