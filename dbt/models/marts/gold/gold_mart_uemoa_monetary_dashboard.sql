-- Tableau de bord monétaire : agrégats, variation annuelle de M2, profondeur financière.
with rolling_quarters as (
    select * from {{ ref('int_indicators_rolling_4q') }}
),

with_previous_year as (
    select
        *,
        {{ prev_year('masse_monetaire_m2') }} as masse_monetaire_m2_annee_precedente
    from rolling_quarters
)

select
    pays, pays_nom, annee, trimestre, date_trimestre,
    {{ measure('masse_monetaire_m1') }} as masse_monetaire_m1,
    {{ measure('masse_monetaire_m2') }} as masse_monetaire_m2,
    {{ measure('masse_monetaire_m3') }} as masse_monetaire_m3,
    {{ measure(ratio('masse_monetaire_m2 - masse_monetaire_m2_annee_precedente', 'masse_monetaire_m2_annee_precedente') ~ ' * 100') }}
        as masse_monetaire_variation_pct,
    {{ measure(ratio('credits_economie', 'pib_nominal_4t') ~ ' * 100') }} as credits_economie_pib_pct,
    {{ measure(ratio('masse_monetaire_m2', 'pib_nominal_4t') ~ ' * 100') }} as taux_liquidite_pct
from with_previous_year
