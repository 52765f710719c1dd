"""Who is on the other end of a proxy session, passed down with each statement:
the privilege checks read ``owner`` and ``role``; the audit trail records ``role``
and ``address``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientInfo:
    role: str
    address: str
    owner: bool  # the user given to ``serve``: may do anything
    database_owner: str = "synth"  # that user's name (pg_roles, psql's du)


EMBEDDED = ClientInfo(role="owner", address="local", owner=True)
