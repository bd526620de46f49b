{{ config(partition_by=['annee']) }}

-- One row per (pays, annee, trimestre): the valid row of the latest publication (date_publication),
-- ties broken by the latest extraction. Invalid rows are in rejected_uemoa_indicators (silver.rejets_uemoa_indicators).
with valid_rows as (
    select * from {{ ref('stg_bceao__indicators') }}
    where motif is null
),

ranked as (
    select
        *,
        row_number() over (
            partition by pays, annee, trimestre
            order by date_publication desc nulls last, _airbyte_extracted_at desc
        ) as rang_publication
    from valid_rows
),

latest as (
    select * from ranked
    where rang_publication = 1
),

countries as (
    select code, nom from {{ ref('pays_uemoa') }}
)

select
    latest.pays,
    countries.nom as pays_nom,
    cast(latest.annee as int) as annee,
    cast(latest.trimestre as int) as trimestre,
    make_date(cast(latest.annee as int), cast(latest.trimestre as int) * 3 - 2, 1) as date_trimestre,
    cast(latest.pib_nominal_milliards_fcfa as decimal(18, 2)) as pib_nominal,
    cast(latest.pib_reel_milliards_fcfa as decimal(18, 2)) as pib_reel,
    cast(latest.taux_inflation_pct as decimal(18, 2)) as taux_inflation_pct,
    cast(latest.recettes_budgetaires_milliards_fcfa as decimal(18, 2)) as recettes_budgetaires,
    cast(latest.depenses_budgetaires_milliards_fcfa as decimal(18, 2)) as depenses_budgetaires,
    cast(latest.solde_budgetaire_milliards_fcfa as decimal(18, 2)) as solde_budgetaire,
    cast(latest.dette_publique_totale_milliards_fcfa as decimal(18, 2)) as dette_publique,
    cast(latest.service_dette_milliards_fcfa as decimal(18, 2)) as service_dette,
    cast(latest.exportations_milliards_fcfa as decimal(18, 2)) as exportations,
    cast(latest.importations_milliards_fcfa as decimal(18, 2)) as importations,
    cast(latest.avoirs_exterieurs_nets_milliards_fcfa as decimal(18, 2)) as avoirs_exterieurs_nets,
    cast(latest.masse_monetaire_m1_milliards_fcfa as decimal(18, 2)) as masse_monetaire_m1,
    cast(latest.masse_monetaire_m2_milliards_fcfa as decimal(18, 2)) as masse_monetaire_m2,
    cast(latest.masse_monetaire_m3_milliards_fcfa as decimal(18, 2)) as masse_monetaire_m3,
    cast(latest.credits_economie_milliards_fcfa as decimal(18, 2)) as credits_economie,
    latest.date_publication,
    latest._airbyte_raw_id,
    latest._source_object_key
from latest
left join countries on latest.pays = countries.code
