"""One exception type users see: a message naming the table, column or option at fault."""


class SynthError(Exception):
    """Bad input or an unsatisfiable request; the database is left as it was."""


class ParseError(SynthError):
    """A malformed statement; the message carries line and column."""


class StateWriteRefused(SynthError):
    """Plain SQL that would change the engine's own schema ``synthtab`` (ledger, budgets, audit trail)."""
