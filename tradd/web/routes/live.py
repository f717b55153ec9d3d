"""The daemon, live: strategies as `tradctl status` shows them, pause, resume, flatten,
recent events and alerts. (Built out in its own change.)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/live", tags=["live"])
