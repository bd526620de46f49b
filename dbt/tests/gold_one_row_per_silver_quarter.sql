-- Marts 1 to 5 have exactly one row per (pays, annee, trimestre) present in silver: missing or extra rows are returned.
-- The orchestrator shows this test as a check of dim_uemoa_indicators (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'dim_uemoa_indicators'}}}) }}
{% set marts = ['gold_kpi_uemoa_growth_yoy', 'gold_mart_uemoa_external_stability', 'gold_mart_uemoa_external_trade',
                'gold_mart_uemoa_monetary_dashboard', 'gold_mart_uemoa_public_finance'] %}

with silver_keys as (
    select pays, annee, trimestre from {{ ref('dim_uemoa_indicators') }}
),

mart_keys as (
    {% for mart in marts %}
        select '{{ mart }}' as mart, pays, annee, trimestre from {{ ref(mart) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

expected_keys as (
    select
        mart_names.mart,
        silver_keys.pays,
        silver_keys.annee,
        silver_keys.trimestre
    from silver_keys
    cross join (values {% for mart in marts %}('{{ mart }}'){% if not loop.last %}, {% endif %}{% endfor %}) as mart_names (mart)
),

missing_keys as (
    select mart, pays, annee, trimestre from expected_keys
    except
    select mart, pays, annee, trimestre from mart_keys
),

extra_keys as (
    select mart, pays, annee, trimestre from mart_keys
    except
    select mart, pays, annee, trimestre from expected_keys
)

select mart, 'manquante' as ecart, pays, annee, trimestre from missing_keys
union all
select mart, 'en trop' as ecart, pays, annee, trimestre from extra_keys
