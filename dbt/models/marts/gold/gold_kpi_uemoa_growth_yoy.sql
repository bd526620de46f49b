-- Croissance en glissement annuel du PIB réel et nominal, par pays et trimestre.
with indexed_quarters as (
    select * from {{ ref('int_quarters_indexed') }}
),

with_previous_year as (
    select
        pays, pays_nom, annee, trimestre, date_trimestre,
        pib_reel,
        {{ prev_year('pib_reel') }} as pib_reel_annee_precedente,
        pib_nominal,
        {{ prev_year('pib_nominal') }} as pib_nominal_annee_precedente
    from indexed_quarters
)

select
    pays, pays_nom, annee, trimestre, date_trimestre,
    {{ measure('pib_reel') }} as pib_reel,
    {{ measure('pib_reel_annee_precedente') }} as pib_reel_annee_precedente,
    {{ measure(ratio('pib_reel - pib_reel_annee_precedente', 'pib_reel_annee_precedente') ~ ' * 100') }} as pib_reel_yoy_pct,
    {{ measure('pib_nominal') }} as pib_nominal,
    {{ measure('pib_nominal_annee_precedente') }} as pib_nominal_annee_precedente,
    {{ measure(ratio('pib_nominal - pib_nominal_annee_precedente', 'pib_nominal_annee_precedente') ~ ' * 100') }} as pib_nominal_yoy_pct
from with_previous_year
