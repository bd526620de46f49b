{#- Formulas shared by the gold marts. Quarters are indexed by `indice_trimestre` = annee * 4 + trimestre - 1
    (int_quarters_indexed), so that two consecutive quarters have consecutive indexes. -#}

{#- ratio(n, d): n / d when d > 0, else null. -#}
{% macro ratio(numerator, denominator) -%}
    (case when ({{ denominator }}) > 0 then ({{ numerator }}) / ({{ denominator }}) end)
{%- endmacro %}

{#- The window of the quarter and the `n` quarters before it, for the same country. -#}
{% macro quarter_window(preceding) -%}
    partition by pays order by indice_trimestre range between {{ preceding }} preceding and current row
{%- endmacro %}

{#- sum_4q(x): sum of x over the quarter and the 3 before it; null unless all 4 quarters have a value. -#}
{% macro sum_4q(column) -%}
    (case when count({{ column }}) over ({{ quarter_window(3) }}) = 4
          then sum({{ column }}) over ({{ quarter_window(3) }}) end)
{%- endmacro %}

{#- prev_year(x): x for the same quarter of the previous year (null if that quarter is absent).
    `partition_by` is the country by default; none for union-wide series. -#}
{% macro prev_year(column, partition_by='pays') -%}
    max({{ column }}) over (
        {% if partition_by %}partition by {{ partition_by }}{% endif %}
        order by indice_trimestre range between 4 preceding and 4 preceding)
{%- endmacro %}

{#- A gold measure: rounded half-up to 2 decimals from the unrounded value, as DECIMAL(18,2). -#}
{% macro measure(expression) -%}
    cast(round({{ expression }}, 2) as decimal(18, 2))
{%- endmacro %}
