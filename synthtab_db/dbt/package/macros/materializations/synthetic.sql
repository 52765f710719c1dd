{#-
  materialized='synthetic': the model's SELECT is the real data; the table built is
  its synthetic copy, made by synthtab_db (dbt-duckdb plugin `synthtab_db.dbt`).

  {{ config(materialized='synthetic', rows=1000, model='argn', epsilon=1.0, seed=7) }}
  select * from {{ ref('customers') }}

  The tests and contract constraints dbt knows for the model become constraints of
  the staged real data, so every generated row is checked against them before insert.
-#}
{% materialization synthetic, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if config.get('contract').enforced -%}
    {#- dbt's own check: the SELECT's column names and types match the contract -#}
    {%- do get_assert_columns_equivalent(compiled_code) -%}
  {%- endif -%}
  {%- set spec = synthtab.synthetic_spec(model, compiled_code, target_relation) -%}
  {% call statement('main', fetch_result=True) -%}
    select synthtab_dbt_synthetic({{ synthtab.string_literal(tojson(spec)) }}) as report
  {%- endcall %}
  {%- set report = synthtab.read_report(load_result('main')['data'][0][0]) -%}
  {{ log(synthtab.report_line(report), info=True) }}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
