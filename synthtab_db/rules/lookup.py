"""Functional dependencies kept exactly: B is looked up from A with the source's own
A -> B table (the most common B per A), so a city never lands in the wrong country."""

from __future__ import annotations

import base64

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc


def plain(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """ENUM columns arrive dictionary-encoded: their labels, which sort and compare."""
    return values.cast(values.type.value_type) if pa.types.is_dictionary(values.type) else values


def learn_mapping(data: pa.Table, determinant: str, column: str) -> pa.Table:
    """One row per A value: its most common B (ties: the smallest B)."""
    pairs = pa.table({"a": plain(data.column(determinant)), "b": plain(data.column(column))})
    counts = pairs.group_by(["a", "b"]).aggregate([("b", "count")])
    order = counts.sort_by([("a", "ascending"), ("b_count", "descending"), ("b", "ascending")])
    first = pc.not_equal(order.column("a").combine_chunks()[1:], order.column("a").combine_chunks()[:-1]) \
        if order.num_rows > 1 else pa.array([], pa.bool_())
    keep = pa.concat_arrays([pa.array([True]), pc.fill_null(first, True)]) if order.num_rows else pa.array([], pa.bool_())
    return order.filter(keep).select(["a", "b"])


def any_of(mapping: pa.Table, n: int, rng: np.random.Generator) -> pa.Array:
    """B values of random source A values (what a row whose A is new gets: never NULL)."""
    b = mapping.column("b").combine_chunks()
    return b.take(pa.array(rng.integers(len(b), size=n))) if len(b) else pa.nulls(n, b.type)


def look_up(mapping: pa.Table, keys: pa.Array, fallback: pa.Array) -> pa.Array:
    """B for each A; the sampled B where A is new (a generated key, a NULL)."""
    keys = plain(keys).cast(mapping.schema.field("a").type)
    at = pc.index_in(keys, value_set=mapping.column("a").combine_chunks())
    found = mapping.column("b").combine_chunks().take(at)
    return pc.if_else(pc.is_valid(at), found, plain(fallback).cast(found.type))


def dump_mapping(mapping: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, mapping.schema) as writer:
        writer.write_table(mapping)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode()


def load_mapping(text: str) -> pa.Table:
    return ipc.open_stream(pa.py_buffer(base64.b64decode(text))).read_all()
