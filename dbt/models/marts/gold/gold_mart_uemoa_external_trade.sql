-- Commerce extérieur du trimestre.
with silver_quarters as (
    select * from {{ ref('dim_uemoa_indicators') }}
)

select
    pays, pays_nom, annee, trimestre, date_trimestre,
    {{ measure('exportations') }} as exportations,
    {{ measure('importations') }} as importations,
    {{ measure('exportations - importations') }} as balance_commerciale,
    {{ measure(ratio('exportations', 'importations') ~ ' * 100') }} as taux_couverture_pct,
    {{ measure(ratio('exportations', 'importations')) }} as exports_imports_ratio
from silver_quarters
