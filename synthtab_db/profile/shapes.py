"""Regular expressions for formatted strings, and the SQL that reduces a value to its shape."""

from __future__ import annotations

EMAIL = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$"
URL = r"^(https?://|www\.)[^\s]+$"
PHONE = r"^\+?[0-9 ()./\-]{7,20}$"
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
NAME = r"^[A-Z][A-Za-z'\-\.]*( [A-Z][A-Za-z'\-\.]*){0,3}$"

#: meaning -> pattern every (or nearly every) value matches
PATTERNS: dict[str, str] = {"email": EMAIL, "url": URL, "phone": PHONE}

#: share of non-null values that must match a pattern
MATCH_SHARE = 0.95


def shape_sql(column_sql: str) -> str:
    """'AB-123x' -> 'AA-999a': digits to 9, upper-case letters to A, lower-case to a."""
    digits = f"regexp_replace({column_sql}, '[0-9]', '9', 'g')"
    upper = f"regexp_replace({digits}, '[A-Z]', 'A', 'g')"
    return f"regexp_replace({upper}, '[a-z]', 'a', 'g')"


def matches_sql(column_sql: str, pattern: str) -> str:
    literal = "'" + pattern.replace("'", "''") + "'"
    return f"avg(CASE WHEN regexp_full_match({column_sql}, {literal}) THEN 1.0 ELSE 0.0 END)"
