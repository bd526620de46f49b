{{ config(materialized='table', schema='gold', partition_by=['annee']) }}

-- Soutenabilité extérieure : stocks rapportés aux flux des 4 derniers trimestres.
with quarters as (
    select * from {{ ref('int_trimestres_indexes') }}
),

rolling as (
    select
        pays, pays_nom, annee, trimestre, date_trimestre,
        dette_publique,
        avoirs_exterieurs_nets,
        {{ sum_4t('pib_nominal') }} as pib_nominal_4t,
        {{ sum_4t('service_dette') }} as service_dette_4t,
        {{ sum_4t('exportations') }} as exportations_4t,
        {{ sum_4t('importations') }} as importations_4t
    from quarters
)

select
    pays, pays_nom, annee, trimestre, date_trimestre,
    {{ measure(ratio('dette_publique', 'pib_nominal_4t') ~ ' * 100') }} as ratio_endettement_pct,
    {{ measure(ratio('service_dette_4t', 'exportations_4t') ~ ' * 100') }} as service_dette_exportations_pct,
    {{ measure(ratio('avoirs_exterieurs_nets', 'importations_4t / 12')) }} as couverture_importations_mois,
    {{ measure(ratio('exportations_4t + importations_4t', 'pib_nominal_4t') ~ ' * 100') }} as ouverture_commerciale_pct
from rolling
