"""What one server allows its clients: connection counts, timeouts, message sizes,
and how failed logins slow down the address that sends them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

STARTUP_LIMIT = 10_000  # bytes: a startup packet is a few parameter names and values


@dataclass(frozen=True)
class Limits:
    max_connections: int = 100  # authenticated sessions; beyond: SQLSTATE 53300
    auth_timeout: float = 60.0  # seconds from connect to authenticated
    max_pending: int = 200  # connections still in startup; the oldest is dropped beyond
    startup_limit: int = STARTUP_LIMIT
    backlog: int = 128


def login_delay(failures: int) -> float:
    """Seconds to hold a failed login's answer: doubling from 0.1 s, at most 5 s."""
    return 0.0 if failures <= 0 else min(5.0, 0.1 * 2 ** (failures - 1))


@dataclass
class FailedLogins:
    """Recent failures per client address (bounded: the oldest addresses are forgotten)."""

    keep: int = 10_000
    counts: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, address: str) -> float:
        """Counts one failure; returns how long to hold this answer."""
        with self.lock:
            self.counts[address] = self.counts.pop(address, 0) + 1
            while len(self.counts) > self.keep:
                self.counts.popitem(last=False)
            return login_delay(self.counts[address])

    def succeed(self, address: str) -> None:
        with self.lock:
            self.counts.pop(address, None)
