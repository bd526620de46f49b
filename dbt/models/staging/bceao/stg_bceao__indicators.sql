{{ config(alias='stg_indicators') }}

-- Every bronze row of the indicators stream, as received, with the reason (motif) it cannot enter
-- dim_uemoa_indicators; motif is null for a valid row.
with source_rows as (
    select * from {{ source('bceao', 'indicateurs_economiques_uemoa') }}
),

checked as (
    select
        *,
        case
            when pays is null then 'pays manquant'
            when annee is null then 'annee manquante'
            when trimestre is null then 'trimestre manquant'
            when trimestre not between 1 and 4 then 'trimestre hors 1-4'
            when pib_nominal_milliards_fcfa is null then 'pib_nominal manquant'
            when pib_nominal_milliards_fcfa <= 0 then 'pib_nominal négatif ou nul'
        end as motif
    from source_rows
)

select * from checked
