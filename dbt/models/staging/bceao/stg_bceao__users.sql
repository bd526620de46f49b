{{ config(alias='stg_users', materialized='incremental', incremental_strategy='merge', unique_key='user_id') }}

-- Latest version of each portal user. Incremental: only bronze rows registered since the last run are
-- read, compared with the stored version of the same users, and the latest one wins (merge on user_id).
with new_versions as (
    select
        user_id, email, pays, created_at, updated_at,
        _airbyte_extracted_at, _airbyte_raw_id, _source_object_key,
        _registered_at as _bronze_registered_at
    from {{ source('bceao', 'raw_users') }}
    where user_id is not null {{ registered_since_last_build() }}
),

candidates as (
    select * from new_versions
    {% if is_incremental() %}
        union all
        select
            user_id, email, pays, created_at, updated_at,
            _airbyte_extracted_at, _airbyte_raw_id, _source_object_key, _bronze_registered_at
        from {{ this }}
        where user_id in (select user_id from new_versions)
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (partition by user_id order by updated_at desc nulls last, _airbyte_extracted_at desc) as rang
    from candidates
)

select
    user_id, email, pays, created_at, updated_at,
    _airbyte_extracted_at, _airbyte_raw_id, _source_object_key, _bronze_registered_at
from ranked
where rang = 1
