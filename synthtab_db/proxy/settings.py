"""Session parameters a PostgreSQL client expects to SET, SHOW and be told about.

They live in the session, not in DuckDB: postgres_fdw sets ``search_path =
pg_catalog`` and DuckDB would take that literally. Only the time zone reaches
DuckDB (session-scoped), since it changes how timestamptz values are printed.
"""

from __future__ import annotations

SERVER_VERSION = "15.0 (synthtab_db proxy)"

REPORTED = {
    "server_version": SERVER_VERSION,
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "is_superuser": "off",
    "application_name": "",
}

DEFAULTS = {
    **{k.lower(): v for k, v in REPORTED.items()},
    "server_version_num": "150000",
    "search_path": "main",
    "transaction_isolation": "repeatable read",
    "default_transaction_isolation": "repeatable read",
    "extra_float_digits": "1",
    "max_identifier_length": "63",
    "statement_timeout": "0",
    "bytea_output": "hex",
}

TO_DUCKDB = {"timezone": "TimeZone"}


class Settings:
    def __init__(self, startup: dict[str, str]):
        self.values = dict(DEFAULTS)
        self.values.update({k.lower(): v for k, v in startup.items() if k.lower() in ("application_name", "datestyle")})

    def get(self, name: str) -> str | None:
        return self.values.get(name.lower())

    def set(self, name: str, value: str) -> None:
        self.values[name.lower()] = value

    def reset(self, name: str | None) -> None:
        if name is None:
            self.values = dict(DEFAULTS)
        elif name.lower() in DEFAULTS:
            self.values[name.lower()] = DEFAULTS[name.lower()]
        else:
            self.values.pop(name.lower(), None)

    def reported(self) -> dict[str, str]:
        return {k: self.values.get(k.lower(), v) for k, v in REPORTED.items()}
