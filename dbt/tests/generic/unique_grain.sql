{#- No two rows share the same values of `columns` (the model's grain). -#}
{% test unique_grain(model, columns) %}
select {{ columns | join(', ') }}, count(*) as lignes
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
