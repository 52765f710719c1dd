"""TRAIN / SHOW / DROP SYNTHESIZER: learn once, keep it in the database, generate later."""

from __future__ import annotations

import time

import duckdb
import pyarrow as pa

from synthtab_db import catalog, runs, store
from synthtab_db.device import refuse_unavailable
from synthtab_db.duck import atomic
from synthtab_db.engine import memory
from synthtab_db.engine.learn import dumps, epoch_callback, learn_table, learned_state
from synthtab_db.engine.planning import current_schema
from synthtab_db.errors import SynthError
from synthtab_db.models import auto, default_model, get_model
from synthtab_db.planner.generate import qualified, source_table
from synthtab_db.planner.graph import parent_ref
from synthtab_db.privacy import budget
from synthtab_db.sizes import MEMORY_DEFAULT, MEMORY_HELP, is_memory_limit
from synthtab_db.sqlbuild import count_rows
from synthtab_db.statements import TrainStatement, validate_options
from synthtab_db.udfs.synthesizer_functions import drop_table_function, register_table_function


def _model_options(model, raw: dict) -> dict:
    allowed = sorted(model.options_model.model_fields) if model.options_model else []
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        raise SynthError(
            f"unknown option {unknown[0]!r} for {model.name}; allowed options: replace, memory_limit, "
            f"{', '.join(allowed)}"
        )
    return validate_options(model.options_model, raw).model_dump(exclude_unset=True) if model.options_model else {}


def run_train(con: duckdb.DuckDBPyConnection, statement: TrainStatement, progress=None) -> pa.Table:
    model = get_model(statement.using or default_model())
    budget.require_support(model, statement.model_options)
    raw = dict(statement.model_options)
    limit = raw.pop("memory_limit", MEMORY_DEFAULT)  # DuckDB's, while learning (engine/memory.py)
    if not is_memory_limit(limit):
        raise SynthError(f"option 'memory_limit': {MEMORY_HELP} (got {limit!r})")
    options = _model_options(model, raw)
    refuse_unavailable(statement.model_options.get("device", "auto"))
    if store.synthesizer_exists(con, statement.name) and not statement.replace:
        raise SynthError(
            f"synthesizer {statement.name!r} already exists; use WITH (replace = true) or DROP SYNTHESIZER"
        )
    schema = catalog.read_schema(con)
    table = source_table(schema, qualified(statement.source, current_schema(con)))
    parents = {fk.columns: parent_ref(schema, fk) for fk in table.foreign_keys if not table.is_self_reference(fk)}
    (request,) = budget.split(options.get("epsilon"), options.get("delta"), [(str(table.ref), count_rows(con, table.ref))])
    budget.check(con, [request], statement.allow_non_private)
    if request.epsilon is not None:
        options = {**options, "delta": request.delta}
    model, options, _why = auto.resolve(model, options, request.rows, table)
    started = time.perf_counter()
    with memory.bounded_buffer_pool(con, limit):
        learned = learn_table(
            con, table, table.ref, parents, model, options, on_epoch=epoch_callback(progress, str(table.ref)),
            schema=schema,
        )
    weights = learned.model.to_bytes()
    spent = budget.privacy_report(learned.model)

    def save() -> None:
        runs.note_written(f"synthesizer {statement.name}", learned.source_rows)
        store.save_synthesizer(con, statement.name, str(table.ref), model.name, options,
                               dumps(learned_state(learned)), weights, options.get("seed"), learned.source_rows)
        if spent is not None:  # the ledger entry lands with the synthesizer, or neither does
            budget.record(con, str(table.ref), spent, f"TRAIN SYNTHESIZER {statement.name} ON {table.ref} USING "
                          f"{model.name}", budget.uuid.uuid4().hex)

    budget.spend_atomically(con, [request], save, statement.allow_non_private, "TRAIN SYNTHESIZER")
    register_table_function(con, statement.name)
    return pa.table(
        {
            "synthesizer": [statement.name],
            "source": [str(table.ref)],
            "model": [model.name],
            "rows": [learned.source_rows],
            "seconds": [round(time.perf_counter() - started, 3)],
            "bytes": [len(weights)],
            **{k: pa.array([v], pa.float64()) for k, v in budget.result_columns(spent).items()},
        }
    )


def run_show(con: duckdb.DuckDBPyConnection) -> pa.Table:
    if not store.has_state(con):
        return pa.table(
            {
                "name": pa.array([], pa.string()),
                "source": pa.array([], pa.string()),
                "model": pa.array([], pa.string()),
                "rows": pa.array([], pa.int64()),
                "bytes": pa.array([], pa.int64()),
                "created": pa.array([], pa.timestamp("us", tz="UTC")),
            }
        )
    return con.sql(
        f"SELECT name, source, model, rows, octet_length(weights) AS bytes, created, options FROM {store.SYNTHESIZERS} ORDER BY name"
    ).to_arrow_table()


def run_drop(con: duckdb.DuckDBPyConnection, name: str, if_exists: bool) -> pa.Table:
    if not store.synthesizer_exists(con, name):
        if if_exists:
            return pa.table({"dropped": pa.array([], pa.string())})
        store.load_synthesizer(con, name)  # raises, listing the known ones
    atomic(con, lambda: store.drop_synthesizer(con, name), "DROP SYNTHESIZER")
    drop_table_function(con, name)
    return pa.table({"dropped": [name]})
