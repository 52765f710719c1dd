"""Ask the model for a schema, validate it, and send any refusal back verbatim.

A reply that is JSON is read as a DatabaseSpec and rendered to DDL; any other
reply is taken as DDL text.  After ``max_attempts`` refusals the statement fails
with the last error and the last DDL, so the user sees what the model wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synthtab_db.errors import SynthError
from synthtab_db.prompt.backends import Backend
from synthtab_db.prompt.proposal import PROPOSAL_SCHEMA, parse_spec, render_ddl, row_hints
from synthtab_db.prompt.validate import Accepted, validate

SYSTEM = (
    "You design relational database schemas for synthetic data. Reply with one JSON object only: "
    '{"tables": [{"name": …, "rows": …, "comment": …, "columns": [{"name": …, "type": a DuckDB type, '
    '"primary_key": bool, "not_null": bool, "unique": bool, "references": "table" or "table.column", '
    '"check": SQL condition, "comment": what the column holds}]}]}. '
    "Give every table a primary key, foreign keys between related tables, CHECKs for ranges and status values, "
    "realistic types and a comment on each column. If the request does not describe data, reply {\"tables\": []}."
)


@dataclass(frozen=True)
class Proposal:
    accepted: Accepted
    rows: dict[str, int]  # row counts the model proposed, by lower-cased table name
    attempts: int
    replies: tuple[str, ...] = field(default=())


def first_messages(request: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]


def retry_message(error: str) -> dict[str, str]:
    return {"role": "user", "content": f"The database refused that proposal: {error}\nReply with the corrected JSON."}


class NotADatabase(SynthError):
    """The model found no tables in the request."""


def read_reply(reply: str) -> tuple[str, dict[str, int]]:
    """(DDL, proposed row counts) from a reply; JSON is rendered, anything else is DDL."""
    text = reply.strip()
    if not text.startswith("{"):
        return text, {}
    spec = parse_spec(text)
    if not spec.tables:
        raise NotADatabase()
    return render_ddl(spec), row_hints(spec)


def check_reply(reply: str) -> tuple[Accepted, dict[str, int]]:
    ddl, rows = read_reply(reply)
    return validate(ddl), rows


def propose(backend: Backend, request: str, max_attempts: int) -> Proposal:
    messages = first_messages(request)
    replies: list[str] = []
    error, ddl = "", ""
    for attempt in range(1, max_attempts + 1):
        reply = backend.complete(messages, PROPOSAL_SCHEMA)
        replies.append(reply)
        try:
            accepted, rows = check_reply(reply)
            return Proposal(accepted, rows, attempt, tuple(replies))
        except NotADatabase:
            raise SynthError(f"the request {request!r} does not describe a database: the model proposed no "
                             "tables; ask for tables of something, e.g. 'customers, orders and order lines'") from None
        except SynthError as err:
            error, ddl = str(err), _ddl_or_reply(reply)
        messages += [{"role": "assistant", "content": reply}, retry_message(error)]
    raise SynthError(f"the model's schema was refused {max_attempts} time(s); last error: {error}\n"
                     f"last proposal:\n{ddl}")


def _ddl_or_reply(reply: str) -> str:
    try:
        return read_reply(reply)[0]
    except SynthError:
        return reply
