{#- What the synthetic materialization hands to Python (synthtab_db/dbt/spec.py). -#}
{% macro synthetic_spec(model, compiled_sql, relation) %}
  {%- set constraints = synthtab.test_constraints(model) + synthtab.contract_constraints(model)
                        + synthtab.referenced_columns(model) -%}
  {{ return({
      'model': model.name,
      'schema': relation.schema,
      'identifier': relation.identifier,
      'sql': compiled_sql,
      'rows': config.get('rows'),
      'using': config.get('model'),
      'seed': config.get('seed'),
      'epsilon': config.get('epsilon'),
      'delta': config.get('delta'),
      'options': config.get('synthtab_options', {}),
      'constraints': constraints,
      'full_refresh': should_full_refresh(),
  }) }}
{% endmacro %}

{% macro string_literal(text) %}
  {{- return("'" ~ text.replace("'", "''") ~ "'") -}}
{% endmacro %}

{#- The Python side's report, or the model's error. -#}
{% macro read_report(text) %}
  {%- set report = fromjson(text) -%}
  {%- if report.error -%}
    {{ exceptions.raise_database_error(report.error) }}
  {%- endif -%}
  {{ return(report) }}
{% endmacro %}

{% macro report_line(report) %}
  {%- set how = 'reused synthesizer' if report.reused else 'trained synthesizer' -%}
  {{- return('synthtab: ' ~ report.relation ~ ': ' ~ report.rows ~ ' synthetic rows (' ~ report.using ~ ', '
             ~ how ~ ' ' ~ report.synthesizer ~ ', ' ~ report.rejected_rows ~ ' rejected by checks, '
             ~ report.seconds ~ ' s)') -}}
{% endmacro %}
