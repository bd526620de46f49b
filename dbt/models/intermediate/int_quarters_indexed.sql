-- The silver quarters with a consecutive quarter index, the axis of the window formulas (sum_4q, prev_year).
with silver_quarters as (
    select * from {{ ref('dim_uemoa_indicators') }}
)

select
    *,
    annee * 4 + trimestre - 1 as indice_trimestre
from silver_quarters
