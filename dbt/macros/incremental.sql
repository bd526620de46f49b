{#- The filter of an incremental model that reads a bronze source: on an incremental build, only the
    rows registered in bronze since the last build (later than the newest `_bronze_registered_at`
    already stored); nothing on a full build. Bronze rows carry their registration time in `_registered_at`. -#}
{% macro registered_since_last_build() -%}
    {%- if is_incremental() -%}
        and _registered_at > (select coalesce(max(_bronze_registered_at), timestamp '1970-01-01') from {{ this }})
    {%- endif -%}
{%- endmacro %}
