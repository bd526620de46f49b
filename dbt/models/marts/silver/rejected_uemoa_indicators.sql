{{ config(alias='rejets_uemoa_indicators') }}

-- Bronze rows that cannot enter dim_uemoa_indicators, with the reason (motif): nothing is dropped silently.
select
    motif,
    pays,
    annee,
    trimestre,
    pib_nominal_milliards_fcfa,
    date_publication,
    _airbyte_raw_id,
    _airbyte_meta,
    _source_object_key
from {{ ref('stg_bceao__indicators') }}
where motif is not null
