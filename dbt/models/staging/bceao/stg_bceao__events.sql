{{ config(alias='stg_events', materialized='incremental', incremental_strategy='append') }}

-- Portal events, one row per event_id (a re-landed event does not count twice). An event never changes
-- once landed, so the first extraction is kept, as a full rebuild keeps it: an incremental build reads
-- the bronze rows registered since the last build and appends the events not stored yet (an anti-join on
-- event_id, not a merge: nothing is rewritten).
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
),

first_extractions as (
    select
        event_id, user_id, session_id, event_type, page, occurred_at,
        _airbyte_extracted_at, _airbyte_raw_id, _source_object_key, _bronze_registered_at
    from deduplicated
    where rang = 1
)

select first_extractions.*
from first_extractions
{% if is_incremental() %}
    left anti join {{ this }} as already_stored on first_extractions.event_id = already_stored.event_id
{% endif %}
