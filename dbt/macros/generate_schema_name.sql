{#-
    dbt schemas are Iceberg namespaces of the `lakehouse` catalog. With the `prod` target (what
    `make run` and `make dbt-*` use) a model goes to its folder's schema exactly (`silver`, `gold`;
    dbt's default would make `silver_gold`). Any other target prefixes it with the target's name
    (`dev_silver`, `dev_gold`), so that a development build never overwrites the tables people read.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set schema_name = (custom_schema_name or target.schema) | trim -%}
    {%- if target.name in ('prod', 'audit') -%}
        {{ schema_name }}
    {%- else -%}
        {{ target.name | trim }}_{{ schema_name }}
    {%- endif -%}
{%- endmacro %}
