-- Finances publiques : solde et recettes sur 4 trimestres glissants, dette rapportée au PIB annuel.
with rolling_quarters as (
    select * from {{ ref('int_indicators_rolling_4q') }}
)

select
    pays, pays_nom, annee, trimestre, date_trimestre,
    {{ measure(ratio('solde_budgetaire_4t', 'pib_nominal_4t') ~ ' * 100') }} as solde_budgetaire_pib_pct,
    {{ measure(ratio('dette_publique', 'pib_nominal_4t') ~ ' * 100') }} as dette_publique_pib_pct,
    {{ measure(ratio('recettes_budgetaires_4t', 'depenses_budgetaires_4t') ~ ' * 100') }} as recettes_depenses_pct
from rolling_quarters
