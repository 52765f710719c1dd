"""Which language model to ask: WITH (llm = …) on the statement, else SET synthtab.llm.

SET synthtab.<key> is kept in a DuckDB session variable (``synthtab_<key>``): it
lives as long as the connection and is never written to the database file.  API
keys are read from the environment (``api_key_env`` names the variable), never
taken as an option, so they cannot end up in a script or the audit trail.
"""

from __future__ import annotations

from typing import Any

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from synthtab_db.duck import first_row
from synthtab_db.errors import SynthError
from synthtab_db.statements import validate_options


class LlmSettings(BaseModel):
    """The backend and how to reach it; ``llm`` picks an entry of backends.BACKENDS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    llm: str | None = None
    endpoint: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    model: str | None = Field(None, description="model name sent to the endpoint")
    path: str | None = Field(None, description="local transformers checkpoint directory")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    timeout: float = Field(120.0, gt=0, description="seconds to wait for one reply")
    max_new_tokens: int = Field(1024, ge=16, le=32768)


#: SET synthtab.<key> names: llm, llm_endpoint, llm_model, … (one per LlmSettings field).
SET_KEYS: dict[str, str] = {("llm" if f == "llm" else f"llm_{f}"): f for f in LlmSettings.model_fields}


def variable_name(key: str) -> str:
    return f"synthtab_{key}"


def set_setting(con: duckdb.DuckDBPyConnection, key: str, value: Any) -> None:
    """SET synthtab.<key> = value (NULL clears it)."""
    if key.lower() not in SET_KEYS:
        raise SynthError(f"unknown setting synthtab.{key}; allowed: {', '.join('synthtab.' + k for k in SET_KEYS)}")
    con.execute(f"SET VARIABLE {variable_name(key.lower())} = $value", {"value": value}).fetchall()


def session_settings(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What SET synthtab.* left in this session."""
    names = [variable_name(k) for k in SET_KEYS]
    values = first_row(con, "SELECT " + ", ".join(f"getvariable('{n}')" for n in names))
    return {SET_KEYS[k]: v for k, v in zip(SET_KEYS, values) if v is not None}


def resolve(con: duckdb.DuckDBPyConnection, options: dict[str, Any]) -> LlmSettings:
    """Statement options win over the session's SET synthtab.* values."""
    settings = validate_options(LlmSettings, {**session_settings(con), **options})
    if settings.llm is None:
        raise SynthError(
            "no language model configured: add WITH (llm = 'openai', endpoint = 'http://127.0.0.1:8080/v1', "
            "model = '…') or WITH (llm = 'transformers', path = '/dir/of/checkpoint'), or run "
            "SET synthtab.llm = 'openai' and SET synthtab.llm_endpoint = '…' once per session"
        )
    return settings
