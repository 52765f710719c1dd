"""The dbt-duckdb plugin: ``plugins: [{module: synthtab_db.dbt}]`` in profiles.yml.

dbt-duckdb calls ``configure_connection`` once on the database connection and
``configure_cursor`` on each cursor it hands out.  Python UDFs registered on the
connection are seen by every cursor (and must stay registered by a connection that
stays open: DuckDB crashes calling a UDF whose connection was closed), while TEMP
macros belong to one cursor, so each stored synthesizer's table macro
(``SELECT * FROM <synthesizer>(100)``) is declared again on every cursor.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from synthtab_db import store
from synthtab_db.dbt import functions
from synthtab_db.udfs.entry_point import install
from synthtab_db.udfs.synthesizer_functions import declare_table_macro


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        install(conn)
        functions.register(conn)

    def configure_cursor(self, cursor) -> None:
        for name in store.list_names(cursor):
            declare_table_macro(cursor, name)
