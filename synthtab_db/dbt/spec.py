"""What the ``synthetic`` materialization sends to Python: one JSON document per model.

The materialization reads the model's config and, from dbt's graph, the tests and
contract constraints attached to it; everything is validated here once, so a bad
config fails the model with a message naming the model and the config key.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthtab_db.errors import SynthError

ConstraintKind = Literal[
    "not_null", "unique", "primary_key", "accepted_values", "check", "relationships", "foreign_key", "referenced"
]


class Parent(BaseModel):
    """The model (or seed, or source) a relationships test / FK constraint points at."""

    model_config = ConfigDict(extra="ignore")

    unique_id: str | None = None
    name: str
    schema_: str = Field(alias="schema")
    identifier: str
    synthetic: bool = False
    upstream: bool = True  # the child depends on it in dbt's DAG, so it is built first


class Constraint(BaseModel):
    """One dbt test or contract constraint, as a constraint of the staged real data."""

    model_config = ConfigDict(extra="ignore")

    kind: ConstraintKind
    columns: list[str]
    values: list[Any] | None = None  # accepted_values
    quote: bool = True  # accepted_values: values are strings
    expression: str | None = None  # check
    parent: Parent | None = None  # relationships / foreign_key
    fields: list[str] = []  # the parent's columns
    origin: str = ""  # the test or constraint it came from, for messages


class SyntheticSpec(BaseModel):
    """A synthetic model: its SELECT (the real data), where the copy goes, how it is made."""

    model_config = ConfigDict(extra="forbid")

    model: str  # dbt model name
    schema_: str = Field(alias="schema")
    identifier: str
    sql: str
    rows: int | None = Field(None, ge=1)
    using: str | None = None  # config 'model': the synthesizer's model
    seed: int | None = None
    epsilon: float | None = Field(None, gt=0)
    delta: float | None = Field(None, gt=0, lt=1)
    options: dict[str, Any] = {}  # config 'synthtab_options': any other WITH option
    constraints: list[Constraint] = []
    full_refresh: bool = False


_CONFIG_NAMES = {"using": "model", "options": "synthtab_options", "schema_": "schema"}


def parse_spec(text: str) -> SyntheticSpec:
    data = json.loads(text)
    try:
        return SyntheticSpec.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = str(first["loc"][0])
        raise SynthError(
            f"synthetic model {data.get('model', '?')}: config {_CONFIG_NAMES.get(key, key)!r}: "
            f"{first['msg']} (got {first.get('input')!r})"
        ) from None
