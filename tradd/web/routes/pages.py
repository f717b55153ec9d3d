"""The HTML pages: static shells whose scripts (same origin, no inline script) call the
API. (Built out in its own change.)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["pages"], include_in_schema=False)
