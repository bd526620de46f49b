{#-
    dbt-spark's behaviour on Iceberg tables of the REST catalog, where it differs from what dbt users
    expect (dbt/README.md, « Particularités de dbt-spark sur Thrift avec Iceberg »). The adapter test
    kit runs with these macros (tests/integration/test_dbt_adapter.py).

    - A table partitioned on its first column cannot be created in one statement: the Iceberg client
      sends the new schema with field ids from 0, and SeaweedFS 4.48's catalog answers
      `Malformed request: Invalid request body` to a partition field whose source id is 0. A new
      partitioned table is therefore created empty without partitioning, given its partition fields
      (`alter table ... add partition field`, ids assigned by the catalog by then), then filled: under
      another name then renamed (outside Write-Audit-Publish), so that no half-made table is ever seen
      under the model's name; with the audit target, a table never published is dropped by the next
      audit (`lakehouse.publication.start_audit`).
    - Columns are dropped with `alter table ... drop columns` (dbt-spark refuses to drop Iceberg
      columns), so `on_schema_change: sync_all_columns` works.
    - A merge names its columns (`update set c = ...`, `insert (c, ...) values (...)`) instead of
      `update set *` / `insert *`, which Spark refuses when the new rows lack a column of the table:
      with `on_schema_change: append_new_columns`, a column the model no longer selects is kept in the
      table and left null in the new rows, as dbt documents it.
    - `persist_docs`: the model's description also becomes the table's comment on a table that
      already exists (dbt-spark writes it only when it creates the table).
    - `insert_overwrite` (and `microbatch`) keep Iceberg's form (no `table`, no `partition (...)`) for
      every Iceberg model, also on a table created earlier in the same dbt command.
    - `drop schema ... cascade`: the catalog does not drop a namespace that still holds tables or
      views, so they are dropped first.
    - Iceberg views: `show tables` does not list them, and their `describe extended` has no `Type`
      row; dbt's relation listing (its cache, `dbt docs generate`) adds `show views` and marks them.
-#}

{% macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {%- set iceberg_table = not temporary and language == 'sql' and config.get('file_format') == 'iceberg' -%}
    {%- if iceberg_table and target.name == 'audit' -%}
        {{- audited_table_write(relation, compiled_code) -}}
    {%- elif iceberg_table and model_partition_fields() and adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier) is none -%}
        {#- built whole under another name, then renamed: a process killed in between leaves no table that
            the next run would take for this model (empty, an incremental model would only get new rows) -#}
        {%- set staged = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_new'}) -%}
        {%- call statement('drop_staged_table') -%}drop table if exists {{ staged }}{%- endcall -%}
        {%- do create_empty_iceberg_table(staged, compiled_code, tblproperties_clause()) -%}
        {%- call statement('fill_staged_table') -%}
            insert into {{ staged }}
            select * from ({{ compiled_code }}) as new_rows
        {%- endcall -%}
        alter table {{ staged }} rename to {{ relation }}
    {%- else -%}
        {{- dbt.spark__create_table_as(temporary, relation, compiled_code, language) -}}
    {%- endif -%}
{%- endmacro %}


{#- The model's `partition_by` as a list (`annee`, `days(occurred_at)`). -#}
{% macro model_partition_fields() -%}
    {%- set fields = config.get('partition_by') or [] -%}
    {{- return([fields] if fields is string else fields) -}}
{%- endmacro %}


{#- A new Iceberg table with the columns of `compiled_code`, no rows, its partition fields and comment.
    With `persist_docs` on columns, the column descriptions are written by the `create` itself (the
    columns' types read from a temporary view of the query): one statement instead of one `alter` per
    column, which cost a first build about 15 s for the project's marts. -#}
{% macro create_empty_iceberg_table(relation, compiled_code, properties) -%}
    {%- set documented = {} -%}
    {%- if config.persist_column_docs() -%}
        {%- for name, column in model.columns.items() if column.description -%}
            {%- do documented.update({name | lower: column.description | trim}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if documented -%}
        {%- set probe = relation.identifier ~ '__dbt_columns' -%}
        {%- call statement('probe_columns') -%}
            create or replace temporary view {{ probe }} as {{ compiled_code }}
        {%- endcall -%}
        {%- set columns = [] -%}
        {%- for row in run_query('describe ' ~ probe) if row[0] and not row[0].startswith('#') -%}
            {%- do columns.append(row) -%}
        {%- endfor -%}
        {%- call statement('create_empty_table') -%}
            create table {{ relation }} (
            {%- for row in columns %}
                `{{ row[0] }}` {{ row[1] }}
                {%- if row[0] | lower in documented %} comment '{{ documented[row[0] | lower] | replace("'", "\\'") }}'{% endif -%}
                {{- "," if not loop.last }}
            {%- endfor %}
            )
            {{ file_format_clause() }}
            {{ properties }}
            {{ comment_clause() }}
        {%- endcall -%}
        {%- call statement('drop_probe') -%}drop view if exists {{ probe }}{%- endcall -%}
    {%- else -%}
        {%- call statement('create_empty_table') -%}
            create table {{ relation }}
            {{ file_format_clause() }}
            {{ properties }}
            {{ comment_clause() }}
            as select * from ({{ compiled_code }}) as new_rows where false
        {%- endcall -%}
    {%- endif -%}
    {%- for field in model_partition_fields() -%}
        {%- call statement('add_partition_field') -%}
            alter table {{ relation }} add partition field {{ field }}
        {%- endcall -%}
    {%- endfor -%}
{%- endmacro %}


{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- if config.get('file_format') != 'iceberg' -%}
        {{- return(dbt.spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates)) -}}
    {%- endif -%}
    {%- set predicates = [] if incremental_predicates is none else [] + incremental_predicates -%}
    {%- set keys = ([] if unique_key is none else ([unique_key] if unique_key is string else unique_key)) | select | list -%}
    {%- for key in keys -%}
        {%- do predicates.append('DBT_INTERNAL_SOURCE.' ~ key ~ ' = DBT_INTERNAL_DEST.' ~ key) -%}
    {%- endfor -%}
    {%- set source_names = adapter.get_columns_in_relation(source) | map(attribute='name') | map('lower') | list -%}
    {%- set shared_columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(target) if column.name | lower in source_names -%}
        {%- do shared_columns.append(column) -%}
    {%- endfor -%}
    {#- dbt-spark answers none for "every column" (its `update set *`): every column the new rows have -#}
    {%- set update_columns = get_merge_update_columns(config.get('merge_update_columns'),
                                                      config.get('merge_exclude_columns'), shared_columns)
                             or shared_columns | map(attribute='quoted') | list -%}
    {%- set sql_header = config.get('sql_header') -%}
    {{ sql_header if sql_header is not none }}
    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on {{ predicates | join(' and ') if predicates else 'false' }}
    {%- if keys and update_columns %}
    when matched then update set
        {%- for column in update_columns %}
        {{ column }} = DBT_INTERNAL_SOURCE.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- endif %}
    when not matched then insert ({{ shared_columns | map(attribute='quoted') | join(', ') }})
    values (
        {%- for column in shared_columns -%}
            DBT_INTERNAL_SOURCE.{{ column.quoted }}{{ ", " if not loop.last }}
        {%- endfor -%}
    )
{%- endmacro %}


{#- An Iceberg table is overwritten without `table` nor a `partition (...)` clause (Spark overwrites the
    partitions the new rows fall in). dbt-spark decides that on the relation it found; a table created
    earlier in the same dbt invocation (a microbatch model's first batch) is cached without its provider,
    and got the Hive form, which Spark refuses for a partition transform (`days(event_time)`). -#}
{% macro get_insert_overwrite_sql(source_relation, target_relation, existing_relation) -%}
    {%- if existing_relation.is_iceberg or config.get('file_format') == 'iceberg' -%}
        {%- set dest_columns = adapter.get_columns_in_relation(target_relation) -%}
        insert overwrite {{ target_relation }}
        select {{ dest_columns | map(attribute='quoted') | join(', ') }} from {{ source_relation }}
    {%- else -%}
        {{- dbt_spark.get_insert_overwrite_sql(source_relation, target_relation, existing_relation) -}}
    {%- endif -%}
{%- endmacro %}


{% macro spark__alter_relation_add_remove_columns(relation, add_columns, remove_columns) -%}
    {%- if remove_columns and (relation.is_iceberg or config.get('file_format') == 'iceberg') -%}
        {%- call statement('drop_columns') -%}
            alter table {{ relation }} drop columns (
            {%- for column in remove_columns -%}
                {{ column.quoted }}{{ ", " if not loop.last }}
            {%- endfor -%}
            )
        {%- endcall -%}
        {%- set remove_columns = none -%}
    {%- endif -%}
    {%- if add_columns -%}
        {%- do dbt.spark__alter_relation_add_remove_columns(relation, add_columns, remove_columns) -%}
    {%- elif remove_columns -%}
        {%- do dbt.spark__alter_relation_add_remove_columns(relation, none, remove_columns) -%}
    {%- endif -%}
{%- endmacro %}


{#- Comments are written only where they differ from the table's: a daily build that changes no
    description costs two reads, not one `alter` per column. -#}
{% macro spark__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- if relation.type != 'table' -%}
        {{- return(dbt.spark__persist_docs(relation, model, for_relation, for_columns)) -}}
    {%- endif -%}
    {%- if for_relation and config.persist_relation_docs() and model.description -%}
        {%- set stored = run_query("show tblproperties " ~ relation ~ " ('comment')") -%}
        {%- if not stored.rows or (stored.rows[0][1] or '') | trim != model.description | trim -%}
            {%- call statement('table_comment') -%}
                alter table {{ relation }} set tblproperties ('comment' = '{{ model.description | replace("'", "\\'") }}')
            {%- endcall -%}
        {%- endif -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() and model.columns -%}
        {%- set stored_comments = {} -%}
        {%- for row in run_query('describe table ' ~ relation) -%}
            {%- if row[0] and not row[0].startswith('#') -%}
                {%- do stored_comments.update({row[0] | lower: row[2]}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set changed = {} -%}
        {%- for name, column in model.columns.items() -%}
            {%- if name | lower in stored_comments and column.description
                  and (stored_comments[name | lower] or '') | trim != column.description | trim -%}
                {%- do changed.update({name: column}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if changed -%}
            {%- do alter_column_comment(relation, changed) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro spark__drop_schema(relation) -%}
    {%- set schema = relation.without_identifier() -%}
    {%- if adapter.check_schema_exists(relation.database, relation.schema) -%}
        {%- for row in run_query('show views in ' ~ schema) -%}
            {%- call statement('drop_view') -%}drop view if exists {{ schema }}.{{ row[1] }}{%- endcall -%}
        {%- endfor -%}
        {%- for row in run_query('show tables in ' ~ schema) if not row[2] -%}
            {%- call statement('drop_table') -%}drop table if exists {{ schema }}.{{ row[1] }}{%- endcall -%}
        {%- endfor -%}
        {%- call statement('drop_schema') -%}drop schema if exists {{ schema }}{%- endcall -%}
    {%- endif -%}
{%- endmacro %}


{#- dbt-spark's listing of a schema's relations on Iceberg (`show table extended` is not supported for
    v2 tables): its tables and, here, its views; temporary views are not the schema's. -#}
{% macro list_relations_show_tables_without_caching(schema_relation) -%}
    {%- set relations = [] -%}
    {%- for statement in ['show tables in ', 'show views in '] -%}
        {%- for row in run_query(statement ~ schema_relation.schema ~ " like '*'") if not row[2] -%}
            {%- do relations.append([row[0], row[1], row[2]]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(relations) -}}
{%- endmacro %}


{#- `describe extended` of a relation, with the `Type: VIEW` row dbt-spark looks for on a view. -#}
{% macro describe_table_extended_without_caching(table_name) -%}
    {%- set rows = [] -%}
    {%- for row in run_query('describe extended ' ~ table_name) -%}
        {%- do rows.append([row[0], row[1], row[2]]) -%}
        {%- if row[0] == '# Detailed View Information' -%}
            {%- do rows.append(['Type', 'VIEW', '']) -%}
            {%- do rows.append(['Provider', 'iceberg', '']) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(rows) -}}
{%- endmacro %}
