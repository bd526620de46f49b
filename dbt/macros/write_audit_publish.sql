{#-
    Write-Audit-Publish with the `audit` target (what `make run` uses); `spark__create_table_as`
    (macros/iceberg_adapter.sql) sends the table writes of that target here.

    The session's `spark.wap.branch` (profiles.yml) sends the reads and writes of every table that has
    the audit branch and `write.wap.enabled=true` to that branch: incremental merges and tests need
    nothing more. Only `create or replace table ... as select` (dbt-spark's table
    materialization) would escape it and replace main, so with the audit target a table model is
    written with `insert overwrite ... by name` into the existing table, which stays on the branch.
    A model built for the first time is created empty on main (its published state until the first
    publication), given the audit branch, then filled on the branch the same way. A build stopped before
    the publication leaves such a table half made (no partition field, no branch, no rows): the next
    audit drops every table main never had a snapshot of (`lakehouse.publication.start_audit`).
-#}
{% macro audited_table_write(relation, compiled_code) -%}
    {%- set branch = audit_branch() -%}
    {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema,
                                            identifier=relation.identifier) -%}
    {%- if existing is none -%}
        {%- do create_empty_iceberg_table(relation, compiled_code, audited_tblproperties()) -%}
        {%- do fault_point('dbt-table-created-' ~ relation.identifier) -%}
        {%- call statement('create_audit_branch') -%}
            alter table {{ relation }} create branch if not exists `{{ branch }}`
        {%- endcall -%}
    {%- endif %}
    insert overwrite {{ relation }} by name
    select * from ({{ compiled_code }}) as new_rows
{%- endmacro %}


{#- The model's `tblproperties` (dbt_project.yml) with `write.wap.enabled`, which sends its writes to the
    audit branch. -#}
{% macro audited_tblproperties() -%}
    {%- set properties = (config.get('tblproperties') or {}).copy() -%}
    {%- do properties.update({'write.wap.enabled': 'true'}) -%}
    tblproperties (
    {%- for key, value in properties.items() -%}
        '{{ key }}' = '{{ value }}'{{ ", " if not loop.last }}
    {%- endfor -%}
    )
{%- endmacro %}


{#- The audit branch of this build; refuses the audit target without one (it would write nowhere
    anyone checks). -#}
{% macro audit_branch() -%}
    {%- set branch = env_var('LAKEHOUSE_AUDIT_BRANCH', '') -%}
    {%- if target.name == 'audit' and not branch -%}
        {{ exceptions.raise_compiler_error(
            "la cible audit écrit sur une branche d'audit : lancez-la par `make run` "
            ~ "(LAKEHOUSE_AUDIT_BRANCH n'est pas défini)") }}
    {%- endif -%}
    {{- return(branch) -}}
{%- endmacro %}


{#- A seed that exists is emptied and refilled; dbt-spark drops and recreates it, which would replace
    main: with the audit target it is truncated instead, on the branch like the inserts that follow. -#}
{% macro spark__reset_csv_table(model, full_refresh, old_relation, agate_table) -%}
    {%- if target.name == 'audit' and not full_refresh -%}
        {%- set sql = "truncate table " ~ old_relation -%}
        {%- call statement('truncate_seed') -%}{{ sql }}{%- endcall -%}
        {{- return(sql) -}}
    {%- else -%}
        {{- return(dbt.spark__reset_csv_table(model, full_refresh, old_relation, agate_table)) -}}
    {%- endif -%}
{%- endmacro %}
