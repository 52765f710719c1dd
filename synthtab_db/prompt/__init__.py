"""GENERATE SYNTHETIC DATABASE FROM PROMPT: a language model proposes a schema,
the planner validates it, schema-only generation fills it.

Rooms: ``settings`` (which model, from WITH or SET synthtab.llm), ``backends``
(OpenAI-compatible HTTP, local transformers checkpoint), ``json_prefix`` and
``constrained`` (decoding kept to JSON), ``proposal`` (the JSON schema asked for,
rendered to DDL), ``validate`` (sqlglot + a scratch DuckDB + the planner),
``propose`` (ask, validate, retry with the exact error), ``shape`` and
``children`` (values and children per parent that look like the request),
``create`` (one transaction), ``local_server`` (serve a checkpoint over the
OpenAI-compatible API).
"""
