-- Chaque événement de silver est dans fct_events_enriched une fois, avec les mesures de toute sa session
-- et le pays de la dernière version de son utilisateur : une session ou un utilisateur mis à jour
-- incrémentalement mais non recalculé apparaît ici.
-- The orchestrator shows this test as a check of fct_events_enriched (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_events_enriched'}}}) }}
with expected_sessions as (
    select
        session_id,
        count(*) as evenements_session,
        min(occurred_at) as session_debut,
        max(occurred_at) as session_fin
    from {{ ref('stg_bceao__events') }}
    group by session_id
),

expected as (
    select
        events.event_id,
        expected_sessions.evenements_session,
        expected_sessions.session_debut,
        expected_sessions.session_fin,
        users.pays as pays_utilisateur
    from {{ ref('stg_bceao__events') }} as events
    inner join expected_sessions on events.session_id = expected_sessions.session_id
    left join {{ ref('stg_bceao__users') }} as users on events.user_id = users.user_id
),

built as (
    select event_id, evenements_session, session_debut, session_fin, pays_utilisateur
    from {{ ref('fct_events_enriched') }}
),

missing_or_stale as (
    select * from expected
    except
    select * from built
),

extra_or_stale as (
    select * from built
    except
    select * from expected
)

select 'manquant ou périmé' as ecart, * from missing_or_stale
union all
select 'en trop ou périmé' as ecart, * from extra_or_stale
