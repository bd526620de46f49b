-- Hand-computed checks of sum_4t, prev_year, ratio and measure (the formulas of the gold marts).
-- Returns the rows whose computed value differs from the expected one.
with quarters as (
    select pays, annee, trimestre, cast(pib as decimal(18, 2)) as pib, annee * 4 + trimestre - 1 as indice_trimestre
    from values
        ('BEN', 2023, 1, 100), ('BEN', 2023, 2, 100), ('BEN', 2023, 3, 100), ('BEN', 2023, 4, 120),
        ('BEN', 2024, 2, 130),                                  -- 2024 T1 absent: no complete 4-quarter window
        ('CIV', 2022, 1, 0), ('CIV', 2023, 1, 121.5),           -- previous year zero: ratio null
        ('SEN', 2023, 2, 60), ('SEN', 2024, 2, 63.34)           -- (63.34 - 60) / 60 = 5.5666..% -> 5.57
        as t(pays, annee, trimestre, pib)
),

computed as (
    select
        pays, annee, trimestre,
        {{ sum_4t('pib') }} as pib_4t,
        {{ prev_year('pib') }} as pib_annee_precedente
    from quarters
),

measured as (
    select
        *,
        {{ measure(ratio('pib - pib_annee_precedente', 'pib_annee_precedente') ~ ' * 100') }} as pib_yoy_pct
    from computed join quarters using (pays, annee, trimestre)
),

expected as (
    select pays, annee, trimestre, cast(pib_4t as decimal(28, 2)) as pib_4t, cast(yoy as decimal(18, 2)) as pib_yoy_pct
    from values
        ('BEN', 2023, 1, null, null), ('BEN', 2023, 2, null, null), ('BEN', 2023, 3, null, null),
        ('BEN', 2023, 4, 420.00, null), ('BEN', 2024, 2, null, 30.00),     -- 130 vs 2023 T2 = 100
        ('CIV', 2022, 1, null, null), ('CIV', 2023, 1, null, null),
        ('SEN', 2023, 2, null, null), ('SEN', 2024, 2, null, 5.57)
        as t(pays, annee, trimestre, pib_4t, yoy)
)

select expected.*, measured.pib_4t as pib_4t_calcule, measured.pib_yoy_pct as pib_yoy_pct_calcule
from expected
left join measured using (pays, annee, trimestre)
where not (expected.pib_4t <=> measured.pib_4t) or not (expected.pib_yoy_pct <=> measured.pib_yoy_pct)
