{{ config(materialized='table', schema='gold', partition_by=['annee']) }}

-- Finances publiques : solde et recettes sur 4 trimestres glissants, dette rapportée au PIB annuel.
with quarters as (
    select * from {{ ref('int_trimestres_indexes') }}
),

rolling as (
    select
        pays, pays_nom, annee, trimestre, date_trimestre,
        dette_publique,
        {{ sum_4t('solde_budgetaire') }} as solde_budgetaire_4t,
        {{ sum_4t('pib_nominal') }} as pib_nominal_4t,
        {{ sum_4t('recettes_budgetaires') }} as recettes_budgetaires_4t,
        {{ sum_4t('depenses_budgetaires') }} as depenses_budgetaires_4t
    from quarters
)

select
    pays, pays_nom, annee, trimestre, date_trimestre,
    {{ measure(ratio('solde_budgetaire_4t', 'pib_nominal_4t') ~ ' * 100') }} as solde_budgetaire_pib_pct,
    {{ measure(ratio('dette_publique', 'pib_nominal_4t') ~ ' * 100') }} as dette_publique_pib_pct,
    {{ measure(ratio('recettes_budgetaires_4t', 'depenses_budgetaires_4t') ~ ' * 100') }} as recettes_depenses_pct
from rolling
