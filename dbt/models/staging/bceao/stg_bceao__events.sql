{{ config(alias='stg_events', materialized='incremental', incremental_strategy='merge', unique_key='event_id') }}

-- Portal events, one row per event_id (a re-landed event does not count twice). Incremental on the
-- bronze registration time; merge on event_id.
with new_events as (
    select
        event_id, user_id, session_id, event_type, page, occurred_at,
        _airbyte_extracted_at, _airbyte_raw_id, _source_object_key,
        _registered_at as _bronze_registered_at
    from {{ source('bceao', 'raw_events') }}
    where event_id is not null {{ registered_since_last_build() }}
),

deduplicated as (
    select *, row_number() over (partition by event_id order by _airbyte_extracted_at) as rang
    from new_events
)

select
    event_id, user_id, session_id, event_type, page, occurred_at,
    _airbyte_extracted_at, _airbyte_raw_id, _source_object_key, _bronze_registered_at
from deduplicated
where rang = 1
