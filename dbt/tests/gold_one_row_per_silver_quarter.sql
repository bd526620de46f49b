-- Marts 1 to 5 have exactly one row per (pays, annee, trimestre) present in silver: missing or extra rows are returned.
{% set marts = ['gold_kpi_uemoa_growth_yoy', 'gold_mart_uemoa_external_stability', 'gold_mart_uemoa_external_trade',
                'gold_mart_uemoa_monetary_dashboard', 'gold_mart_uemoa_public_finance'] %}
with silver_keys as (
    select pays, annee, trimestre from {{ ref('dim_uemoa_indicators') }}
)
{% for mart in marts %}
, missing_in_{{ mart }} as (
    select pays, annee, trimestre from silver_keys
    except
    select pays, annee, trimestre from {{ ref(mart) }}
)
, extra_in_{{ mart }} as (
    select pays, annee, trimestre from {{ ref(mart) }}
    except
    select pays, annee, trimestre from silver_keys
)
{% endfor %}
{% for mart in marts %}
select '{{ mart }}' as mart, 'manquante' as ecart, * from missing_in_{{ mart }}
union all
select '{{ mart }}' as mart, 'en trop' as ecart, * from extra_in_{{ mart }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
