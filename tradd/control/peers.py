"""Who may talk to the control socket: checked by the peer's kernel credentials.

The socket file is mode 0660 in a 0750 directory, and on top of that every connection's
SO_PEERCRED (uid, gid) is checked: root, the daemon's own user, the configured uids, and
members (primary or supplementary) of the configured groups. Anyone else is refused.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import struct
from dataclasses import dataclass

from tradd.config.daemon import ControlSettings
from tradd.errors import ConfigError


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int


def peer_of(sock: socket.socket) -> Peer:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid, uid, gid)


@dataclass(frozen=True)
class PeerPolicy:
    uids: frozenset[int]
    gids: frozenset[int]

    @classmethod
    def from_settings(cls, settings: ControlSettings, own_uid: int | None = None) -> PeerPolicy:
        own = os.getuid() if own_uid is None else own_uid
        return cls(
            frozenset({0, own, *settings.allowed_uids}),
            frozenset(_gid(g) for g in settings.allowed_groups),
        )

    def allows(self, peer: Peer) -> bool:
        if peer.uid in self.uids or peer.gid in self.gids:
            return True
        return bool(self.gids) and bool(self.gids & _groups_of(peer.uid, peer.gid))


def _gid(group: str) -> int:
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ConfigError(f"control.allowed_groups: no group named {group!r}") from None


def _groups_of(uid: int, gid: int) -> set[int]:
    try:
        return set(os.getgrouplist(pwd.getpwuid(uid).pw_name, gid))
    except KeyError:
        return {gid}
