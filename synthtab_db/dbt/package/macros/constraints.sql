{#-
  The constraints dbt knows about a model, read from its graph: tests attached to the
  model (unique, not_null, accepted_values, relationships), its enforced contract, and
  the columns other models' relationships tests point at (those must stay unique).
-#}

{% macro test_constraints(model) %}
  {%- set found = [] -%}
  {%- for node in graph.nodes.values()
        if node.resource_type == 'test' and node.attached_node == model.unique_id and node.test_metadata -%}
    {%- set meta = node.test_metadata -%}
    {%- set column = node.column_name or meta.kwargs.get('column_name') -%}
    {%- if meta.namespace or not column -%}
      {#- a package's or a model-level test: not a column constraint we can state -#}
    {%- elif meta.name in ('unique', 'not_null') -%}
      {%- do found.append({'kind': meta.name, 'columns': [column], 'origin': 'test ' ~ node.name}) -%}
    {%- elif meta.name == 'accepted_values' -%}
      {%- do found.append({'kind': 'accepted_values', 'columns': [column], 'values': meta.kwargs['values'],
                           'quote': meta.kwargs.get('quote', true), 'origin': 'test ' ~ node.name}) -%}
    {%- elif meta.name == 'relationships' -%}
      {%- do found.append({'kind': 'relationships', 'columns': [column], 'fields': [meta.kwargs['field']],
                           'parent': synthtab.parent_of_test(node, model), 'origin': 'test ' ~ node.name}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}

{% macro contract_constraints(model) %}
  {%- set found = [] -%}
  {%- if model.contract and model.contract.enforced -%}
    {%- for column in model.columns.values() -%}
      {%- for c in column.constraints -%}
        {%- do found.append(synthtab.contract_constraint(c, [column.name], model)) -%}
      {%- endfor -%}
    {%- endfor -%}
    {%- for c in model.constraints -%}
      {%- do found.append(synthtab.contract_constraint(c, c.columns, model)) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(found | select | list) }}
{% endmacro %}

{% macro contract_constraint(c, columns, model) %}
  {%- set origin = 'contract ' ~ c.type ~ ' on ' ~ columns | join(', ') -%}
  {%- if c.type in ('not_null', 'unique', 'primary_key') -%}
    {{ return({'kind': c.type, 'columns': columns, 'origin': origin}) }}
  {%- elif c.type == 'check' and c.expression -%}
    {{ return({'kind': 'check', 'columns': columns, 'expression': c.expression, 'origin': origin}) }}
  {%- elif c.type == 'foreign_key' and c.to and c.to_columns -%}
    {{ return({'kind': 'foreign_key', 'columns': columns, 'fields': c.to_columns,
               'parent': synthtab.parent_of_relation(c.to, model), 'origin': origin}) }}
  {%- endif -%}
  {{ return(none) }}
{% endmacro %}

{% macro referenced_columns(model) %}
  {%- set found = [] -%}
  {%- for node in graph.nodes.values()
        if node.resource_type == 'test' and node.test_metadata and node.test_metadata.name == 'relationships'
           and not node.test_metadata.namespace and node.attached_node != model.unique_id -%}
    {%- set others = node.depends_on.nodes | reject('equalto', node.attached_node) | list -%}
    {%- if others and others[0] == model.unique_id -%}
      {%- do found.append({'kind': 'referenced', 'columns': [node.test_metadata.kwargs['field']],
                           'origin': 'test ' ~ node.name}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}

{% macro parent_of_test(test, model) %}
  {%- set others = test.depends_on.nodes | reject('equalto', model.unique_id) | list -%}
  {{ return(synthtab.parent_node(others[0] if others else model.unique_id, model)) }}
{% endmacro %}

{% macro parent_of_relation(relation_name, model) %}
  {%- for node in graph.nodes.values() if node.relation_name == relation_name -%}
    {{ return(synthtab.parent_node(node.unique_id, model)) }}
  {%- endfor -%}
  {%- for node in graph.sources.values() if node.relation_name == relation_name -%}
    {{ return(synthtab.parent_node(node.unique_id, model)) }}
  {%- endfor -%}
  {{ exceptions.raise_compiler_error('synthetic model ' ~ model.name ~ ': foreign key to ' ~ relation_name
                                     ~ ' names no model, seed or source of this project') }}
{% endmacro %}

{% macro parent_node(unique_id, model) %}
  {%- set node = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
  {{ return({
      'unique_id': unique_id,
      'name': node.name,
      'schema': node.schema,
      'identifier': node.identifier if node.resource_type == 'source' else node.alias,
      'synthetic': node.config.materialized == 'synthetic',
      'upstream': unique_id in model.depends_on.nodes,
  }) }}
{% endmacro %}
