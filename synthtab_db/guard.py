"""What nobody may do by plain SQL: change the engine's own state (schema ``synthtab``).

The ledger, the budgets, the audit trail and the synthesizers are written by the
engine alone, through the raw DuckDB connection; every statement a user sends
(Python API, the ``synthtab()`` UDF, the proxy) passes ``refuse_state_writes``
first.  A statement is judged by its sqlglot tree: the tables it writes are read
from the node types below; a statement whose shape is not known here and that
mentions ``synthtab`` at all is refused rather than guessed at.  Reading
``synthtab.*`` stays allowed.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.errors import TokenError

from synthtab_db.errors import StateWriteRefused

STATE = "synthtab"

#: Node types that only read (or end a transaction): nothing to check.
_READS = (exp.Query, exp.Describe, exp.Show, exp.Transaction, exp.Commit, exp.Rollback, exp.Pragma, exp.Detach)


def _unwrap(node: exp.Expression | None) -> exp.Expression | None:
    """``INSERT INTO t (a, b)`` and ``CREATE TABLE t (…)`` wrap the table in a Schema."""
    while isinstance(node, (exp.Schema, exp.UserDefinedFunction)):
        node = node.this
    if isinstance(node, exp.Index):
        return node.args.get("table")
    return node


def _this(tree: exp.Expression) -> list:
    return [_unwrap(tree.this)]


def _alter(tree: exp.Expression) -> list:
    renames = [a.this for a in tree.args.get("actions") or [] if isinstance(a, exp.AlterRename)]
    return [_unwrap(tree.this), *renames]


def _copy(tree: exp.Expression) -> list:
    """COPY t FROM … writes t; COPY t TO … only reads it."""
    return [_unwrap(tree.this)] if tree.args.get("kind") else []


def _attach(tree: exp.Expression) -> list:
    """ATTACH … AS synthtab would shadow the engine's schema with another catalog."""
    alias = tree.this.args.get("alias") if isinstance(tree.this, exp.Alias) else None
    return [exp.Table(db=alias)] if alias is not None else []


def _use(tree: exp.Expression) -> list:
    """USE synthtab makes every unqualified name a state table."""
    table = tree.this
    return [exp.Table(db=table.this)] if isinstance(table, exp.Table) else []


def _set(tree: exp.Expression) -> list:
    """SET schema / search_path to synthtab does what USE does."""
    found = []
    for item in tree.expressions:
        eq = item.this
        if isinstance(eq, exp.EQ) and eq.this.name.lower() in ("schema", "search_path"):
            if STATE in eq.expression.name.lower():
                found.append(exp.Table(db=exp.to_identifier(STATE)))
    return found


#: Node type -> the tables (or namespaces) a statement of that type writes.
TARGETS: dict[type[exp.Expression], Callable[[exp.Expression], list]] = {
    exp.Insert: _this,
    exp.Update: _this,
    exp.Delete: _this,
    exp.Merge: _this,
    exp.Comment: _this,
    exp.Create: _this,
    exp.Alter: _alter,
    exp.Copy: _copy,
    exp.TruncateTable: lambda tree: list(tree.expressions),
    exp.Drop: lambda tree: list(tree.args.get("tables") or [tree.this]),
    exp.Attach: _attach,
    exp.Use: _use,
    exp.Set: _set,
}

#: Wrappers whose inner statement is what runs: checked on the inner text.
_WRAPPERS = (
    re.compile(r"^\s*EXPLAIN\s+(?:ANALYZE\s+)?(.*)$", re.I | re.S),
    re.compile(r"^\s*PREPARE\s+\S+\s+AS\s+(.*)$", re.I | re.S),
    re.compile(r"^\s*DECLARE\s+\S+\s+.*?\bCURSOR\b.*?\bFOR\s+(.*)$", re.I | re.S),
)


def is_state(node: exp.Expression | None) -> bool:
    """True for a table or schema of ``synthtab`` (any catalog, any case or quoting)."""
    if not isinstance(node, exp.Table):
        return False
    parts = (node.args.get("db"), node.args.get("catalog"))
    return any(part is not None and part.name.lower() == STATE for part in parts)


def refuse_state_writes(tree: exp.Expression, text: str = "") -> None:
    """Raise StateWriteRefused if the statement ``tree`` (original ``text``) would change ``synthtab.*``.

    The one check every path calls before a user's statement runs; the proxy may
    call it for its own owner-only checks too.  Our own statements carry their
    targets in ``into`` / ``into_schema``; plain SQL in the nodes of TARGETS.
    """
    for target in _written(tree, text):
        if is_state(target):
            raise StateWriteRefused(
                f"schema {STATE} holds the engine's ledger, budgets, audit trail and synthesizers; it is written by "
                f"the engine alone, so this statement is refused: {_short(text or tree.sql('duckdb'))}")


def refuse_state_writes_sql(text: str) -> None:
    """The same check for plain SQL text (one statement); parsed only when it mentions ``synthtab``."""
    if STATE not in text.lower():
        return
    inner = _wrapped(text)
    if inner is not None:
        return refuse_state_writes_sql(inner)
    tree = _parse(text)
    if tree is None:
        raise StateWriteRefused(f"a statement that mentions {STATE} and can't be checked is refused: {_short(text)}")
    refuse_state_writes(tree, text)


def refuse_script_writes(pieces: Iterable) -> None:
    """Every statement of a split script (dialect.Piece), before any of them runs."""
    for piece in pieces:
        if piece.tree is not None:
            refuse_state_writes(piece.tree, piece.text)
        else:
            refuse_state_writes_sql(piece.text)


def refuse_text_writes(sql: str) -> None:
    """A whole script as text (the proxy's entry); split only when it mentions ``synthtab``."""
    if STATE in sql.lower():
        from synthtab_db.dialect import split_script  # noqa: PLC0415 (dialect imports nothing of ours, but is heavy)

        refuse_script_writes(split_script(sql))


def refuse_state_table(name: str | None) -> None:
    """A table name given to the Python API (``into=``) as a target."""
    if name and STATE in name.lower():
        refuse_state_writes(exp.Insert(this=exp.to_table(name, dialect="duckdb")), f"INTO {name}")


def _parse(text: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(text, read="duckdb")
    except (SqlglotParseError, TokenError, ValueError, RecursionError):
        return None


def _written(tree: exp.Expression, text: str) -> Iterable[exp.Expression | None]:
    our_targets = _ours(tree)
    if our_targets is not None:
        return our_targets
    finder = TARGETS.get(type(tree))
    if finder is not None:
        return finder(tree)
    if isinstance(tree, _READS):
        return []
    return _unknown(tree, text)


def _ours(tree: exp.Expression) -> list | None:
    """GENERATE … INTO [SCHEMA], EVALUATE … INTO, SET PRIVACY BUDGET FOR: None when not ours."""
    from synthtab_db.dialect import EvaluateSynthetic, GenerateSynthetic, SetPrivacyBudget  # noqa: PLC0415

    if isinstance(tree, (GenerateSynthetic, EvaluateSynthetic)):
        schema = tree.args.get("into_schema")
        return [tree.args.get("into"), exp.Table(db=schema) if schema is not None else None]
    if isinstance(tree, SetPrivacyBudget):
        return [tree.this]
    if type(tree).__module__ == GenerateSynthetic.__module__:  # our other statements write state only via the engine
        schema = tree.args.get("into_schema")
        return [tree.args.get("into"), exp.Table(db=schema) if isinstance(schema, exp.Identifier) else None]
    return None


def _wrapped(text: str) -> str | None:
    """The statement inside EXPLAIN / PREPARE / DECLARE CURSOR, or None."""
    for wrapper in _WRAPPERS:
        match = wrapper.match(text)
        if match:
            return match.group(1)
    return None


def _unknown(tree: exp.Expression, text: str) -> list:
    """A shape sqlglot keeps as a Command: its wrapped statement is checked, else it is
    refused when it mentions synthtab at all."""
    inner = _wrapped(text)
    if inner is not None:
        refuse_state_writes_sql(inner)
        return []
    if STATE in (text or tree.sql("duckdb")).lower():
        return [exp.Table(db=exp.to_identifier(STATE))]
    return []


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."
