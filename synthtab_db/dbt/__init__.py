"""dbt integration: a dbt-duckdb plugin and the ``synthtab`` dbt package.

``plugins: [{module: synthtab_db.dbt}]`` in profiles.yml makes dbt-duckdb load
``Plugin`` from here; the dbt package (materialization ``synthetic``, macro
``synthtab.generate``) ships in ``package/`` and is used through a ``local:``
entry in packages.yml (``synthtab-db dbt init`` writes it).  ``Plugin`` is
imported lazily so that the CLI works without dbt installed.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent / "package"


def __getattr__(name: str):
    if name == "Plugin":
        from synthtab_db.dbt.plugin import Plugin

        return Plugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
