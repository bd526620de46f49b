-- Per country and quarter, the flows summed over the quarter and the 3 before it (sum_4q, null unless
-- the 4 quarters exist): the year of flows that the gold marts relate stocks and flows to.
with indexed_quarters as (
    select * from {{ ref('int_quarters_indexed') }}
)

select
    *,
    {{ sum_4q('pib_nominal') }} as pib_nominal_4t,
    {{ sum_4q('solde_budgetaire') }} as solde_budgetaire_4t,
    {{ sum_4q('recettes_budgetaires') }} as recettes_budgetaires_4t,
    {{ sum_4q('depenses_budgetaires') }} as depenses_budgetaires_4t,
    {{ sum_4q('service_dette') }} as service_dette_4t,
    {{ sum_4q('exportations') }} as exportations_4t,
    {{ sum_4q('importations') }} as importations_4t
from indexed_quarters
