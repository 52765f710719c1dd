"""Our statements as a small sqlglot dialect on top of DuckDB's.

A script is tokenized once with DuckDB's tokenizer (so ``;`` inside strings,
``$$…$$`` and comments never split a statement); statements that start with one
of our lead-ins are parsed into the expression nodes below, everything else is
handed to DuckDB as its original text, untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from synthtab_db.errors import ParseError


class GenerateSynthetic(exp.Expression):
    """GENERATE SYNTHETIC FROM <table> | DATABASE [<schema>] … (clauses in any order)."""

    arg_types = {
        "this": False,  # source table (exp.Table)
        "database": False,  # True for FROM DATABASE
        "source_schema": False,  # exp.Identifier for FROM DATABASE <schema>
        "rows": False,
        "scale": False,
        "into": False,  # exp.Table
        "into_schema": False,  # exp.Identifier
        "source_catalog": False,  # exp.Identifier: FROM DATABASE pg.public (an attached Postgres)
        "into_catalog": False,  # exp.Identifier: INTO SCHEMA pg.synth
        "using": False,  # exp.Identifier
        "where": False,  # condition expression
        "options": False,  # list of exp.EQ
        "synthesizer": False,  # exp.Identifier for FROM SYNTHESIZER <name>
        "tables": False,  # list of exp.Table for FROM (a, b, c)
        "parquet": False,  # exp.Literal: INTO PARQUET '<dir>' (synthtab_db/distributed)
        "postgres": False,  # exp.Literal: INTO POSTGRES '<dsn>' (synthtab_db/distributed)
    }


class ExplainGenerate(exp.Expression):
    """EXPLAIN GENERATE SYNTHETIC …: the plan, without running it (``this`` is the GenerateSynthetic)."""

    arg_types = {"this": True}


class TrainSynthesizer(exp.Expression):
    """TRAIN SYNTHESIZER <name> ON <table> [USING <model>] [WITH (…)]."""

    arg_types = {"this": True, "source": True, "using": False, "options": False}


class EvaluateSynthetic(exp.Expression):
    """EVALUATE SYNTHETIC <synthetic> AGAINST <real> [HOLDOUT <t>] [TARGET <col>] [INTO <t>] [WITH (…)]
    or EVALUATE SYNTHETIC SCHEMA <s> AGAINST SCHEMA <r> […]."""

    arg_types = {
        "this": True,  # exp.Table, or exp.Identifier when schema
        "real": True,
        "schema": False,
        "holdout": False,
        "target": False,
        "into": False,
        "options": False,
    }


class AttachPostgres(exp.Expression):
    """ATTACH POSTGRES '<dsn>' AS <alias>: a PostgreSQL database GENERATE can read and write."""

    arg_types = {"this": True, "alias": True}


class DetachPostgres(exp.Expression):
    arg_types = {"this": True, "exists": False}


class ShowSynthesizers(exp.Expression):
    arg_types = {}


class DropSynthesizer(exp.Expression):
    arg_types = {"this": True, "exists": False}


class ShowPrivacyBudget(exp.Expression):
    """SHOW PRIVACY BUDGET [FOR <table>]."""

    arg_types = {"this": False}


class ShowRuns(exp.Expression):
    """SHOW RUNS: the audit trail."""

    arg_types = {}


class SetPrivacyBudget(exp.Expression):
    """SET PRIVACY BUDGET FOR <table> = <epsilon>."""

    arg_types = {"this": True, "expression": True}


class DescribeSynthetic(exp.Expression):
    """DESCRIBE SYNTHETIC <table> [WITH (columns = {...})] | DESCRIBE SYNTHETIC SYNTHESIZER <name>:
    the column profile and the rules between columns."""

    arg_types = {"this": False, "synthesizer": False, "options": False}


def _position(token: Token | None) -> str:
    if token is None or token.token_type == TokenType.SENTINEL:
        return "at the end of the statement"
    column = max(1, token.col - len(token.text) + 1)
    return f"at line {token.line}, column {column}"


class SynthParser(DuckDB.Parser):
    """DuckDB's parser plus our statements; lead-ins are looked up in STATEMENT_LEADS."""

    def _parse_statement(self) -> exp.Expression | None:
        for words, method in STATEMENT_LEADS.items():
            if self._match_text_seq(*words):
                return method(self)
        return super()._parse_statement()

    # -- errors -----------------------------------------------------------
    def fail(self, message: str, token: Token | None = None) -> None:
        raise ParseError(f"{message} {_position(token or self._curr)}")

    def expect(self, *words: str) -> None:
        if not self._match_text_seq(*words):
            found = repr(self._curr.text) if self._curr else "end of statement"
            self.fail(f"expected {' '.join(words)} but found {found}")

    # -- GENERATE SYNTHETIC -------------------------------------------------
    def parse_generate(self) -> GenerateSynthetic:
        self.expect("FROM")
        node = GenerateSynthetic()
        if self._match_text_seq("SYNTHESIZER"):
            node.set("synthesizer", self.identifier("a synthesizer name after FROM SYNTHESIZER"))
        elif self._match(TokenType.L_PAREN):
            node.set("database", True)
            node.set("tables", self._parse_csv(lambda: self.table_name("table")))
            if not self._match(TokenType.R_PAREN):
                self.fail("expected ',' or ')' in the table list")
        elif self._match_text_seq("DATABASE"):
            node.set("database", True)
            if self._curr and not self._at_clause(GENERATE_CLAUSES):
                node.set("source_schema", self._parse_id_var(any_token=False))
                self.catalog_qualified(node, "source_schema", "source_catalog")
        else:
            node.set("this", self.table_name("source table"))
        self.parse_clauses(node, GENERATE_CLAUSES)
        return node

    def parse_explain_generate(self) -> ExplainGenerate:
        return ExplainGenerate(this=self.parse_generate())

    # -- TRAIN / SHOW / DROP SYNTHESIZER ----------------------------------------------
    def parse_train(self) -> TrainSynthesizer:
        node = TrainSynthesizer(this=self.identifier("a synthesizer name after TRAIN SYNTHESIZER"))
        self.expect("ON")
        node.set("source", self.table_name("source table"))
        self.parse_clauses(node, TRAIN_CLAUSES)
        return node

    def parse_evaluate(self) -> EvaluateSynthetic:
        node = EvaluateSynthetic()
        if self._match_text_seq("SCHEMA"):
            node.set("schema", True)
            node.set("this", self.identifier("a schema name after EVALUATE SYNTHETIC SCHEMA"))
            self.expect("AGAINST", "SCHEMA")
            node.set("real", self.identifier("a schema name after AGAINST SCHEMA"))
        else:
            node.set("this", self.table_name("synthetic table"))
            self.expect("AGAINST")
            node.set("real", self.table_name("real table"))
        self.parse_clauses(node, EVALUATE_CLAUSES)
        return node

    def parse_show(self) -> ShowSynthesizers:
        self.parse_clauses(ShowSynthesizers(), {})
        return ShowSynthesizers()

    def parse_show_runs(self) -> ShowRuns:
        self.parse_clauses(ShowRuns(), {})
        return ShowRuns()

    def parse_drop(self) -> DropSynthesizer:
        exists = self._match_text_seq("IF", "EXISTS")
        node = DropSynthesizer(this=self.identifier("a synthesizer name after DROP SYNTHESIZER"), exists=exists)
        self.parse_clauses(node, {})
        return node

    def parse_describe(self) -> DescribeSynthetic:
        node = DescribeSynthetic()
        if self._match_text_seq("SYNTHESIZER"):
            node.set("synthesizer", self.identifier("a synthesizer name after DESCRIBE SYNTHETIC SYNTHESIZER"))
            self.parse_clauses(node, {})
        else:
            node.set("this", self.table_name("table"))
            self.parse_clauses(node, {("WITH",): GENERATE_CLAUSES[("WITH",)]})
        return node

    # -- SHOW / SET PRIVACY BUDGET -------------------------------------------------------
    def parse_show_budget(self) -> ShowPrivacyBudget:
        self.expect("BUDGET")
        node = ShowPrivacyBudget()
        if self._match_text_seq("FOR"):
            node.set("this", self.table_name("table"))
        self.parse_clauses(node, {})
        return node

    def parse_set_budget(self) -> SetPrivacyBudget:
        self.expect("BUDGET", "FOR")
        node = SetPrivacyBudget(this=self.table_name("table"))
        if not self._match(TokenType.EQ):
            self.fail("expected '=' and an epsilon after SET PRIVACY BUDGET FOR <table>")
        node.set("expression", self.number("SET PRIVACY BUDGET"))
        self.parse_clauses(node, {})
        return node

    def catalog_qualified(self, node: exp.Expression, schema_arg: str, catalog_arg: str) -> None:
        """<catalog>.<schema>: what was read as the schema is the catalog (an attached database)."""
        if node.args.get(schema_arg) is not None and self._match(TokenType.DOT):
            node.set(catalog_arg, node.args[schema_arg])
            node.set(schema_arg, self.identifier("a schema name after the database name"))

    # -- ATTACH / DETACH POSTGRES ------------------------------------------------------
    def parse_attach_postgres(self) -> AttachPostgres:
        dsn = self._parse_string()
        if dsn is None:
            self.fail("ATTACH POSTGRES expects a connection string in quotes, e.g. 'host=… dbname=…'")
        self.expect("AS")
        node = AttachPostgres(this=dsn, alias=self.identifier("a name after AS"))
        self.parse_clauses(node, {})
        return node

    def parse_detach_postgres(self) -> DetachPostgres:
        exists = self._match_text_seq("IF", "EXISTS")
        node = DetachPostgres(this=self.identifier("the attached name after DETACH POSTGRES"), exists=exists)
        self.parse_clauses(node, {})
        return node

    def _at_clause(self, clauses: dict) -> bool:
        return any(self._match_text_seq(*words, advance=False) for words in clauses)

    def parse_clauses(self, node: exp.Expression, clauses: dict) -> None:
        """Clauses may come in any order, each at most once."""
        seen: set[tuple[str, ...]] = set()
        while self._curr and self._curr.token_type != TokenType.SEMICOLON:
            start = self._curr
            words = next((w for w in clauses if self._match_text_seq(*w)), None)
            if words is None:
                expected = ", ".join(" ".join(w) for w in clauses) or "end of statement"
                self.fail(f"unexpected {self._curr.text!r} (expected {expected})", start)
            if words in seen:
                self.fail(f"clause {' '.join(words)} given twice", start)
            seen.add(words)
            clauses[words](self, node)

    def table_name(self, what: str) -> exp.Table:
        if not self._curr or self._curr.token_type == TokenType.L_PAREN:
            self.fail(f"expected a {what} name")
        table = self._parse_table_parts()
        if not isinstance(table, exp.Table) or not table.name:
            self.fail(f"expected a {what} name")
        return table

    def number(self, what: str) -> exp.Expression:
        value = self._parse_unary()
        if value is None:
            self.fail(f"{what} expects a number")
        if not isinstance(value, (exp.Literal, exp.Neg)):
            self.fail(f"{what} expects a number, not {value.sql('duckdb')!r}", self._prev)
        return value

    def identifier(self, what: str) -> exp.Identifier:
        ident = self._parse_id_var(any_token=False)
        if ident is None:
            self.fail(f"expected {what}")
        return ident

    def options(self) -> list[exp.Expression]:
        if not self._match(TokenType.L_PAREN):
            self.fail("WITH expects a parenthesised list like (seed = 7)")
        items = self._parse_csv(self._parse_assignment)
        if not self._match(TokenType.R_PAREN):
            self.fail("expected ',' or ')' in the WITH list")
        for item in items:
            if not isinstance(item, exp.EQ) or not isinstance(item.this, exp.Column):
                self.fail(f"WITH items must look like name = value, not {item.sql('duckdb')!r}", self._prev)
        return items


GENERATE_CLAUSES: dict[tuple[str, ...], Callable[[SynthParser, exp.Expression], None]] = {
    ("ROWS",): lambda p, n: n.set("rows", p.number("ROWS")),
    ("SCALE",): lambda p, n: n.set("scale", p.number("SCALE")),
    ("INTO", "SCHEMA"): lambda p, n: p.catalog_qualified(
        n.set("into_schema", p.identifier("a schema name after INTO SCHEMA")) or n, "into_schema", "into_catalog"
    ),
    ("INTO",): lambda p, n: n.set("into", p.table_name("target table")),
    ("USING",): lambda p, n: n.set("using", p.identifier("a model name after USING")),
    ("WHERE",): lambda p, n: n.set("where", p._parse_disjunction()),
    ("WITH",): lambda p, n: n.set("options", p.options()),
}

# -- INTO PARQUET '<dir>' (issue 17): before INTO <table>, which would read PARQUET as a table name --
def _parquet_dir(p: SynthParser, node: exp.Expression) -> None:
    folder = p._parse_string()
    if folder is None:
        p.fail("INTO PARQUET expects a folder in quotes, e.g. INTO PARQUET 'out/'")
    node.set("parquet", folder)


def _postgres_dsn(p: SynthParser, node: exp.Expression) -> None:
    dsn = p._parse_string()
    if dsn is None:
        p.fail("INTO POSTGRES expects a connection string in quotes, e.g. 'host=… dbname=…'")
    node.set("postgres", dsn)


GENERATE_CLAUSES = {("INTO", "PARQUET"): _parquet_dir, ("INTO", "POSTGRES"): _postgres_dsn, **GENERATE_CLAUSES}

TRAIN_CLAUSES: dict[tuple[str, ...], Callable[[SynthParser, exp.Expression], None]] = {
    ("USING",): GENERATE_CLAUSES[("USING",)],
    ("WITH",): GENERATE_CLAUSES[("WITH",)],
}

EVALUATE_CLAUSES: dict[tuple[str, ...], Callable[[SynthParser, exp.Expression], None]] = {
    ("HOLDOUT",): lambda p, n: n.set("holdout", p.table_name("holdout table")),
    ("TARGET",): lambda p, n: n.set("target", p.identifier("a column name after TARGET")),
    ("INTO",): lambda p, n: n.set("into", p.table_name("report table")),
    ("WITH",): GENERATE_CLAUSES[("WITH",)],
}

STATEMENT_LEADS: dict[tuple[str, ...], Callable[[SynthParser], exp.Expression]] = {
    ("ATTACH", "POSTGRES"): SynthParser.parse_attach_postgres,
    ("DETACH", "POSTGRES"): SynthParser.parse_detach_postgres,
    ("GENERATE", "SYNTHETIC"): SynthParser.parse_generate,
    ("EXPLAIN", "GENERATE", "SYNTHETIC"): SynthParser.parse_explain_generate,
    ("TRAIN", "SYNTHESIZER"): SynthParser.parse_train,
    ("EVALUATE", "SYNTHETIC"): SynthParser.parse_evaluate,
    ("SHOW", "SYNTHESIZERS"): SynthParser.parse_show,
    ("DROP", "SYNTHESIZER"): SynthParser.parse_drop,
    ("SHOW", "PRIVACY"): SynthParser.parse_show_budget,
    ("SET", "PRIVACY"): SynthParser.parse_set_budget,
    ("SHOW", "RUNS"): SynthParser.parse_show_runs,
    ("DESCRIBE", "SYNTHETIC"): SynthParser.parse_describe,
}


# -- GENERATE SYNTHETIC DATABASE FROM PROMPT, its EXPLAIN, SET synthtab.<key> (synthtab_db.prompt) --------


class PromptDatabase(exp.Expression):
    """[EXPLAIN] GENERATE SYNTHETIC DATABASE FROM PROMPT '<request>' INTO SCHEMA <s> [ROWS n] [WITH (…)]."""

    arg_types = {"this": True, "into_schema": False, "rows": False, "options": False, "explain": False}


class SetSynthtab(exp.Expression):
    """SET synthtab.<key> = <value>: a session setting of ours (the language model to ask)."""

    arg_types = {"this": True, "expression": True}


def parse_prompt(parser: SynthParser, explain: bool = False) -> PromptDatabase:
    request = parser._parse_string()
    if request is None:
        parser.fail("FROM PROMPT expects the request in quotes, e.g. 'customers and orders for a lesson on joins'")
    node = PromptDatabase(this=request, explain=explain)
    parser.parse_clauses(node, PROMPT_CLAUSES)
    if node.args.get("into_schema") is None:
        parser.fail("GENERATE SYNTHETIC DATABASE FROM PROMPT needs INTO SCHEMA <schema>")
    return node


def parse_set_synthtab(parser: SynthParser) -> SetSynthtab:
    if not parser._match(TokenType.DOT):
        parser.fail("expected SET synthtab.<setting> = <value>")
    key = parser.identifier("a setting name after synthtab.")
    if not (parser._match(TokenType.EQ) or parser._match_text_seq("TO")):
        parser.fail(f"expected '=' after SET synthtab.{key.name}")
    value = parser._parse_primary()
    if value is None:
        parser.fail(f"SET synthtab.{key.name} expects a value in quotes or NULL")
    node = SetSynthtab(this=key, expression=value)
    parser.parse_clauses(node, {})
    return node


PROMPT_CLAUSES: dict[tuple[str, ...], Callable[[SynthParser, exp.Expression], None]] = {
    ("INTO", "SCHEMA"): lambda p, n: n.set("into_schema", p.identifier("a schema name after INTO SCHEMA")),
    ("ROWS",): GENERATE_CLAUSES[("ROWS",)],
    ("WITH",): GENERATE_CLAUSES[("WITH",)],
}


def parse_prompt_lead(parser: SynthParser) -> PromptDatabase:
    parser.expect("FROM", "PROMPT")
    return parse_prompt(parser)


def _leads_with_prompt() -> dict[tuple[str, ...], Callable[[SynthParser], exp.Expression]]:
    """The three-word lead goes first: ("GENERATE", "SYNTHETIC") would take it otherwise."""
    return {
        ("GENERATE", "SYNTHETIC", "DATABASE"): parse_prompt_lead,
        **STATEMENT_LEADS,
        ("SET", "SYNTHTAB"): parse_set_synthtab,
    }


_WITH_PROMPT = _leads_with_prompt()
STATEMENT_LEADS.clear()  # updated in place: the proxy holds a reference to this dict
STATEMENT_LEADS.update(_WITH_PROMPT)


class SynthDuckDB(DuckDB):
    """DuckDB's dialect with our statements; registered with sqlglot as 'synthduckdb'."""

    class Tokenizer(DuckDB.Tokenizer):
        # EXPLAIN is a command word in DuckDB's tokenizer (the rest of the statement one string):
        # as a plain word, EXPLAIN GENERATE SYNTHETIC … is recognised; other EXPLAINs still go to DuckDB
        KEYWORDS = {**DuckDB.Tokenizer.KEYWORDS, "EXPLAIN": TokenType.VAR}

    class Parser(SynthParser):
        pass


@dataclass(frozen=True)
class Piece:
    """One statement of a script: either ours (``tree``) or plain SQL (``text``)."""

    text: str
    tree: exp.Expression | None = None


def split_script(sql: str) -> list[Piece]:
    """Split a script into statements, parsing only ours."""
    dialect = SynthDuckDB()
    try:
        tokens = dialect.tokenize(sql)
    except TokenError:
        return [Piece(sql)]  # let DuckDB report on text sqlglot cannot tokenize
    return [_piece(dialect, sql, chunk) for chunk in _chunks(tokens)]


def _chunks(tokens: list[Token]) -> list[list[Token]]:
    chunks, current = [], []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append(current)
            current = []
        else:
            current.append(token)
    chunks.append(current)
    return [c for c in chunks if c]


def _is_ours(chunk: list[Token]) -> bool:
    lead = tuple(t.text.upper() for t in chunk[:3])
    return any(lead[: len(words)] == words for words in STATEMENT_LEADS)


EXPLAIN_PROMPT = re.compile(r"\s*EXPLAIN\s+(?=GENERATE\s+SYNTHETIC\s+DATABASE\b)", re.IGNORECASE)


def _explained(text: str) -> Piece | None:
    """EXPLAIN GENERATE SYNTHETIC DATABASE FROM PROMPT …: the tokenizer reads EXPLAIN as a command
    swallowing the rest, so the statement after it is split again and marked."""
    lead = EXPLAIN_PROMPT.match(text)
    if lead is None:
        return None
    inner = split_script(text[lead.end():])
    if len(inner) != 1 or not isinstance(inner[0].tree, PromptDatabase):
        return None
    inner[0].tree.set("explain", True)
    return Piece(text, inner[0].tree)


def _piece(dialect: SynthDuckDB, sql: str, chunk: list[Token]) -> Piece:
    text = sql[chunk[0].start : chunk[-1].end + 1]
    explained = _explained(text)
    if explained is not None:
        return explained
    if not _is_ours(chunk):
        return Piece(text)
    parser = dialect.parser()
    try:
        (tree,) = parser.parse(chunk, text)
    except RecursionError:
        raise ParseError("malformed statement: nested too deeply (write WHERE as an AND of column predicates)"
                         ) from None
    except SqlglotParseError as err:
        detail = err.errors[0] if err.errors else {}
        where = f" at line {detail.get('line')}, column {detail.get('col')}" if detail else ""
        raise ParseError(f"malformed statement{where}: {detail.get('description', err)}") from None
    return Piece(text, tree)
