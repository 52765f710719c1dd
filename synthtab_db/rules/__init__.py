"""Rules between and within columns, applied around every model (see ``rules.table``)."""

from synthtab_db.rules.table import TableRules

__all__ = ["TableRules"]
