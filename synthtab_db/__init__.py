"""synthtab_db: synthetic tabular data generated inside the database, with SQL."""

from synthtab_db.connection import Connection, connect
from synthtab_db.distributed.read import read_parquet_output
from synthtab_db.errors import ParseError, SynthError
from synthtab_db.udfs.entry_point import install

__all__ = ["Connection", "ParseError", "SynthError", "connect", "install", "read_parquet_output"]
__version__ = "0.1.0"
