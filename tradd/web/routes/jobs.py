"""Jobs beyond the specification: optimize, walk-forward and compare, with progress as
Server-Sent Events. (Built out in its own change.)"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
