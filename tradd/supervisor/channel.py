"""The supervisor's side of a worker's command channel (asyncio, one request per call).

Each call opens the worker's Unix socket, sends one JSON line and waits for one line
back, all bounded by `timeout`: a hung worker costs a `WorkerUnreachable`, never a
stuck supervisor loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tradd.records.worker_protocol import WorkerErrorCode, WorkerRequest, parse_reply
from tradd.resources import out_of_resources

MAX_REPLY = 16 * 1024 * 1024


class WorkerUnreachable(Exception):
    """The worker did not answer: no socket, refused, timed out or closed early."""


class SupervisorShort(WorkerUnreachable):
    """The supervisor itself is out of something (descriptors, memory) and could not ask:
    says nothing about the worker, so it is never taken for a hung one."""


class WorkerRefused(Exception):
    """The worker answered with an error reply (`code`: tradd.records.worker_protocol)."""

    def __init__(self, code: WorkerErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


async def worker_request(path: Path, request: WorkerRequest, timeout: float) -> Any:
    """The `result` of `request`; WorkerRefused for an error reply."""
    cmd = request.command
    try:
        return await asyncio.wait_for(_exchange(path, request), timeout)
    except TimeoutError:
        raise WorkerUnreachable(f"{cmd}: no answer within {timeout:g}s") from None
    except OSError as exc:
        if out_of_resources(exc):
            raise SupervisorShort(f"{cmd}: the supervisor is short of resources: {exc}") from None
        raise WorkerUnreachable(f"{cmd}: {exc!r}") from None
    except (ValueError, asyncio.IncompleteReadError) as exc:
        raise WorkerUnreachable(f"{cmd}: {exc!r}") from None


async def _exchange(path: Path, request: WorkerRequest) -> Any:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_REPLY)
    try:
        writer.write(request.line())
        await writer.drain()
        line = await reader.readuntil(b"\n")
    finally:
        writer.close()
    reply = parse_reply(line)
    if reply.error is not None:
        raise WorkerRefused(reply.error.code, reply.error.message)
    return reply.result
