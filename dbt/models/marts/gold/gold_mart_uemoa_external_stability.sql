-- Soutenabilité extérieure : stocks de fin de trimestre rapportés aux flux des 4 derniers trimestres.
with rolling_quarters as (
    select * from {{ ref('int_indicators_rolling_4q') }}
)

select
    pays, pays_nom, annee, trimestre, date_trimestre,
    {{ measure(ratio('dette_publique', 'pib_nominal_4t') ~ ' * 100') }} as ratio_endettement_pct,
    {{ measure(ratio('service_dette_4t', 'exportations_4t') ~ ' * 100') }} as service_dette_exportations_pct,
    {{ measure(ratio('avoirs_exterieurs_nets', 'importations_4t / 12')) }} as couverture_importations_mois,
    {{ measure(ratio('exportations_4t + importations_4t', 'pib_nominal_4t') ~ ' * 100') }} as ouverture_commerciale_pct
from rolling_quarters
