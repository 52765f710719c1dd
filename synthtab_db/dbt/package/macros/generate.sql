{#-
  {{ synthtab.generate(ref('customers'), rows=100, model='copula', seed=7) }}

  Synthetic rows of a relation, usable wherever a relation is: it returns the table
  `<this model>__synthtab_<relation>` (in this model's schema) holding a synthetic copy
  of `relation`, made when dbt executes the calling model (also on `dbt compile`),
  with the synthesizer reused while the relation's data is unchanged. The relation's
  own unique / not_null / accepted_values tests are kept as constraints.
-#}
{% macro generate(relation, rows=none, model=none, seed=none, epsilon=none, delta=none, options={}) %}
  {%- set into = this.incorporate(path={'identifier': this.identifier ~ '__synthtab_' ~ relation.identifier},
                                  type='table') -%}
  {%- if execute -%}
    {%- set spec = {
        'model': this.identifier,
        'schema': into.schema,
        'identifier': into.identifier,
        'sql': 'select * from ' ~ relation,
        'rows': rows, 'using': model, 'seed': seed, 'epsilon': epsilon, 'delta': delta,
        'options': options,
        'constraints': synthtab.own_constraints(relation),
        'full_refresh': flags.FULL_REFRESH,
    } -%}
    {%- set result = run_query('select synthtab_dbt_synthetic(' ~ synthtab.string_literal(tojson(spec)) ~ ')') -%}
    {{ log(synthtab.report_line(synthtab.read_report(result.columns[0].values()[0])), info=True) }}
  {%- endif -%}
  {{ return(into) }}
{% endmacro %}

{#- The column tests of the project node behind `relation` (none for a plain table). -#}
{% macro own_constraints(relation) %}
  {%- for node in graph.nodes.values() if node.relation_name and node.relation_name == relation.render() -%}
    {{ return(synthtab.test_constraints(node) | rejectattr('kind', 'equalto', 'relationships') | list) }}
  {%- endfor -%}
  {{ return([]) }}
{% endmacro %}
