{{ config(materialized='ephemeral') }}

-- The silver quarters with a consecutive quarter index, for the window formulas (sum_4t, prev_year).
select
    *,
    annee * 4 + trimestre - 1 as indice_trimestre
from {{ ref('dim_uemoa_indicators') }}
