"""Write a schema's tables out: CSV, Parquet, Excel or a SQL script.

``export_schema`` is what ``synthtab-db export`` runs; each format is one entry of
``formats.FORMATS``.
"""

from synthtab_db.export.run import export_schema

__all__ = ["export_schema"]
