{#-
    The fault suite's pause points inside dbt (`lakehouse/core/faults.py` for the Python ones):
    `LAKEHOUSE_FAULT=pause:<point>:<seconds>` makes `fault_point('<point>')` say « [faute] pause » in dbt's
    log (shown by `make run`) and hold its statement on the Thrift server that long, so that a test can
    kill the run at that precise moment. Without the variable it does nothing.
-#}
{% macro fault_point(point) -%}
    {%- set fault = env_var('LAKEHOUSE_FAULT', '').split(':') -%}
    {%- if fault | length > 1 and fault[0] == 'pause' and fault[1] == point -%}
        {%- set seconds = (fault[2] if fault | length > 2 else 5) | float -%}
        {{- log('[faute] pause de ' ~ seconds ~ ' s au point ' ~ point, info=True) -}}
        {%- do run_query("select java_method('java.lang.Thread', 'sleep', " ~ (seconds * 1000) | int ~ "L)") -%}
    {%- endif -%}
{%- endmacro %}
