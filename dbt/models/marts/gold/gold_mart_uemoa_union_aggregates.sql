-- Agrégats de l'Union, un trimestre par ligne, seulement quand les 8 États sont présents.
-- `zone` vient en premier : le catalogue REST de SeaweedFS refuse une partition sur la première colonne.
with silver_quarters as (
    select * from {{ ref('dim_uemoa_indicators') }}
),

member_states as (
    select count(*) as nombre_etats from {{ ref('pays_uemoa') }}
),

per_quarter as (
    select
        annee,
        trimestre,
        min(date_trimestre) as date_trimestre,
        count(distinct pays) as nombre_pays,
        sum(pib_nominal) as pib_nominal,
        sum(pib_reel) as pib_reel,
        sum(exportations) as exportations,
        sum(importations) as importations,
        sum(dette_publique) as dette_publique,
        sum(masse_monetaire_m2) as masse_monetaire_m2,
        {{ ratio('sum(taux_inflation_pct * pib_nominal)', 'sum(case when taux_inflation_pct is not null then pib_nominal end)') }}
            as taux_inflation_pondere
    from silver_quarters
    group by annee, trimestre
),

complete_quarters as (
    select
        per_quarter.*,
        per_quarter.annee * 4 + per_quarter.trimestre - 1 as indice_trimestre
    from per_quarter
    cross join member_states
    where per_quarter.nombre_pays = member_states.nombre_etats
),

with_previous_year as (
    select *, {{ prev_year('pib_reel', partition_by=none) }} as pib_reel_annee_precedente
    from complete_quarters
)

select
    'UEMOA' as zone,
    annee,
    trimestre,
    date_trimestre,
    nombre_pays,
    {{ measure('pib_nominal') }} as pib_nominal,
    {{ measure('pib_reel') }} as pib_reel,
    {{ measure('exportations') }} as exportations,
    {{ measure('importations') }} as importations,
    {{ measure('dette_publique') }} as dette_publique,
    {{ measure('masse_monetaire_m2') }} as masse_monetaire_m2,
    {{ measure('taux_inflation_pondere') }} as taux_inflation_pct,
    {{ measure(ratio('pib_reel - pib_reel_annee_precedente', 'pib_reel_annee_precedente') ~ ' * 100') }} as pib_reel_yoy_pct
from with_previous_year
