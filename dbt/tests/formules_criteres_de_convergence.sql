-- Hand-computed checks of the convergence criteria (macros/convergence.sql); bounds are inclusive.
-- Returns the rows whose computed values differ from the expected ones.
with quarters as (
    select pays, cast(null as string) as pays_nom, annee, trimestre,
           cast(pib as decimal(18, 2)) as pib_nominal, cast(solde as decimal(18, 2)) as solde_budgetaire,
           cast(inflation as decimal(18, 2)) as taux_inflation_pct, cast(dette as decimal(18, 2)) as dette_publique
    from values
        -- MLI 2023: balance -3 %, inflation 3 %, debt 70 % exactly -> 3 criteria
        ('MLI', 2023, 1, 250, -7.5, 2, 690), ('MLI', 2023, 2, 250, -7.5, 4, 695),
        ('MLI', 2023, 3, 250, -7.5, 3, 698), ('MLI', 2023, 4, 250, -7.5, 3, 700),
        -- NER 2023: -4 %, 3.25 %, 70.4 % -> 0 criterion
        ('NER', 2023, 1, 100, -4, 3, 260), ('NER', 2023, 2, 100, -4, 3, 270),
        ('NER', 2023, 3, 100, -4, 3.5, 275), ('NER', 2023, 4, 100, -4, 3.5, 281.6),
        -- NER 2024: 3 quarters only -> no row
        ('NER', 2024, 1, 100, -1, 1, 200), ('NER', 2024, 2, 100, -1, 1, 200), ('NER', 2024, 3, 100, -1, 1, 200)
        as t(pays, annee, trimestre, pib, solde, inflation, dette)
),

computed as (
    {{ convergence_annuelle('quarters') }}
),

expected as (
    select pays, annee, cast(solde as decimal(18, 2)) as solde_budgetaire_pib_pct, critere_solde,
           cast(inflation as decimal(18, 2)) as inflation_moyenne_pct, critere_inflation,
           cast(dette as decimal(18, 2)) as dette_pib_pct, critere_dette, nombre
    from values
        ('MLI', 2023, -3.00, true, 3.00, true, 70.00, true, 3),
        ('NER', 2023, -4.00, false, 3.25, false, 70.40, false, 0)
        as t(pays, annee, solde, critere_solde, inflation, critere_inflation, dette, critere_dette, nombre)
)

select coalesce(expected.pays, computed.pays) as pays, coalesce(expected.annee, computed.annee) as annee
from expected
full outer join computed on expected.pays = computed.pays and expected.annee = computed.annee
where expected.pays is null or computed.pays is null
   or not (expected.solde_budgetaire_pib_pct <=> computed.solde_budgetaire_pib_pct)
   or expected.critere_solde <> computed.critere_solde_respecte
   or not (expected.inflation_moyenne_pct <=> computed.inflation_moyenne_pct)
   or expected.critere_inflation <> computed.critere_inflation_respecte
   or not (expected.dette_pib_pct <=> computed.dette_pib_pct)
   or expected.critere_dette <> computed.critere_dette_respecte
   or expected.nombre <> computed.nombre_criteres_respectes
