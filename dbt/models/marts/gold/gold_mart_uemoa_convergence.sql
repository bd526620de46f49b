-- Critères de premier rang du pacte de convergence de l'UEMOA, par pays et année complète (4 trimestres).
-- Les critères portent sur les valeurs publiées (arrondies au centime).
with silver_quarters as (
    select * from {{ ref('dim_uemoa_indicators') }}
),

yearly as (
    select
        pays,
        max(pays_nom) as pays_nom,
        annee,
        count(*) as nombre_trimestres,
        sum(solde_budgetaire) as solde_budgetaire_annuel,
        sum(pib_nominal) as pib_nominal_annuel,
        case when count(taux_inflation_pct) = 4 then avg(taux_inflation_pct) end as inflation_moyenne,
        max(case when trimestre = 4 then dette_publique end) as dette_publique_t4
    from silver_quarters
    group by pays, annee
),

complete_years as (
    select
        pays, pays_nom, annee,
        {{ measure(ratio('solde_budgetaire_annuel', 'pib_nominal_annuel') ~ ' * 100') }} as solde_budgetaire_pib_pct,
        {{ measure('inflation_moyenne') }} as inflation_moyenne_pct,
        {{ measure(ratio('dette_publique_t4', 'pib_nominal_annuel') ~ ' * 100') }} as dette_pib_pct
    from yearly
    where nombre_trimestres = 4
),

criteria as (
    select
        *,
        coalesce(solde_budgetaire_pib_pct >= -3, false) as critere_solde_respecte,
        coalesce(inflation_moyenne_pct <= 3, false) as critere_inflation_respecte,
        coalesce(dette_pib_pct <= 70, false) as critere_dette_respecte
    from complete_years
)

select
    pays, pays_nom, annee,
    solde_budgetaire_pib_pct, critere_solde_respecte,
    inflation_moyenne_pct, critere_inflation_respecte,
    dette_pib_pct, critere_dette_respecte,
    cast(critere_solde_respecte as int) + cast(critere_inflation_respecte as int) + cast(critere_dette_respecte as int)
        as nombre_criteres_respectes
from criteria
