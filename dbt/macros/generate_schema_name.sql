{#-
    dbt schemas are Iceberg namespaces of the `lakehouse` catalog. A model configured with
    `schema: gold` goes to `lakehouse.gold` exactly (dbt's default would make `silver_gold`);
    without a schema it goes to the target's schema (`silver`).
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
