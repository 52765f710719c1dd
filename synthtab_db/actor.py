"""Who is running the statement, for the audit trail: the proxy sets its session's role and
client address; embedded use is the OS user from 'embedded'."""

from __future__ import annotations

import getpass
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    role: str
    client: str


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


_CURRENT: ContextVar[Actor | None] = ContextVar("synthtab_actor", default=None)


def current() -> Actor:
    return _CURRENT.get() or Actor(role=_os_user(), client="embedded")


def act_as(actor: Actor) -> None:
    """Set for the rest of this thread's (or task's) context: the proxy calls it once per session."""
    _CURRENT.set(actor)
