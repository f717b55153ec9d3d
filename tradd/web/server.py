"""Serve the console: check where it may listen, start the job runner, run uvicorn.

Loopback only unless `--allow-remote`; remote also needs TLS, either a certificate and
key here ([web] tls_cert, tls_key) or the statement that a TLS proxy is in front
([web] tls_proxy = true). Session cookies are `Secure` whenever TLS is in play.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from tradd.config.settings import Settings
from tradd.errors import ConfigError, TemporaryError, UsageError
from tradd.web.app import create_app
from tradd.web.context import open_context


@dataclass(frozen=True)
class Listen:
    host: str
    port: int
    tls: bool
    """Certificate and key served here."""
    secure_cookies: bool


def listen_rule(settings: Settings, port: int | None, allow_remote: bool) -> Listen:
    """Where to listen; UsageError/ConfigError naming the option when it is not allowed."""
    web = settings.web
    chosen = web.port if port is None else port
    if not 0 < chosen < 65536:
        raise UsageError(f"--port {chosen}: must be 1..65535")
    if (web.tls_cert is None) != (web.tls_key is None):
        raise ConfigError("[web] tls_cert and tls_key: give both or neither")
    for name, path in (("tls_cert", web.tls_cert), ("tls_key", web.tls_key)):
        if path is not None and not path.is_file():
            raise ConfigError(f"[web] {name} {path}: no such file")
    tls = web.tls_cert is not None
    if not _loopback(web.host):
        if not allow_remote:
            raise UsageError(f"[web] host {web.host} is not loopback: the console listens on "
                             "127.0.0.1 unless started with --allow-remote")  # fmt: skip
        if not tls and not web.tls_proxy:
            raise ConfigError(
                f"--allow-remote on {web.host} needs TLS: set [web] tls_cert and tls_key, "
                "or tls_proxy = true when a TLS proxy is in front"
            )
    return Listen(web.host, chosen, tls, secure_cookies=tls or web.tls_proxy)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    settings: Settings,
    config: Path | None,
    listen: Listen,
    announce: Callable[[str], None],
) -> None:
    """Run until SIGINT/SIGTERM. `announce` prints the banner (URL, first admin password)."""
    sock = bind(listen)
    with sock, open_context(settings, config, secure_cookies=listen.secure_cookies) as ctx:
        password = ctx.users.ensure_admin()
        scheme = "https" if listen.tls else "http"

        def ready() -> None:  # once listening: a script reading the banner may connect at once
            announce(f"tradd console on {scheme}://{listen.host}:{listen.port}/")
            if password is not None:
                announce("first start: created user admin with password "
                         f"{password.get_secret_value()} (shown once; change it with "
                         "`tradd users passwd admin`)")  # fmt: skip
            else:
                announce("log in with a tradd user (`tradd users list`; forgotten it? "
                         "`tradd users passwd NAME`)")  # fmt: skip

        ctx.runner.start()
        server = _Server(uvicorn.Config(
            create_app(ctx), host=listen.host, port=listen.port, log_config=None,
            access_log=False, server_header=False, proxy_headers=False,
            ssl_certfile=settings.web.tls_cert if listen.tls else None,
            ssl_keyfile=settings.web.tls_key if listen.tls else None,
        ), ready)  # fmt: skip
        with _signals_end_cleanly():
            server.run(sockets=[sock])


class _Server(uvicorn.Server):
    """uvicorn's server, telling `ready` once its socket listens (not before: uvicorn runs
    the application's startup before it listens)."""

    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._ready()


def bind(listen: Listen) -> socket.socket:
    """The listening socket, bound before anything is announced: a port in use or a host
    that does not resolve is one line on the terminal and an exit code, not a log entry
    after a banner that promised a URL."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen.host, listen.port))
    except socket.gaierror as exc:
        sock.close()
        raise ConfigError(f"[web] host {listen.host}: {exc.strerror or exc}") from None
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise TemporaryError(
            f"cannot listen on {listen.host}:{listen.port}: {reason} (another console? --port)"
        ) from None
    return sock


@contextmanager
def _signals_end_cleanly() -> Iterator[None]:
    """uvicorn handles SIGINT and SIGTERM itself (a graceful shutdown), then raises the
    signal again under the handler it found, which would end `tradd web` with -15 or a
    KeyboardInterrupt (130) after a clean stop. Found ignored, it returns: exit 0."""
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
