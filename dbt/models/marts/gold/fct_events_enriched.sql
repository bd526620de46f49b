{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='event_id',
    partition_by=['days(occurred_at)']
) }}

-- Événements du portail enrichis : attributs de l'utilisateur (pays, ancienneté du compte au moment
-- de l'événement) et mesures de la session. Incrémental : une session est recalculée en entier dès
-- qu'elle reçoit un nouvel événement (ses mesures changent pour tous ses événements) ou que
-- l'utilisateur d'un de ses événements change ; le merge sur event_id remplace les lignes recalculées.
with

{% if is_incremental() %}
    already_built as (
        select
            coalesce(max(_evenement_enregistre_le), timestamp '1970-01-01') as evenements_vus_jusqua,
            coalesce(max(_utilisateur_enregistre_le), timestamp '1970-01-01') as utilisateurs_vus_jusqua
        from {{ this }}
    ),

    sessions_to_rebuild as (
        select session_id
        from {{ ref('stg_bceao__events') }}
        where _bronze_registered_at > (select evenements_vus_jusqua from already_built)
        union
        select events.session_id
        from {{ ref('stg_bceao__events') }} as events
        inner join {{ ref('stg_bceao__users') }} as users on events.user_id = users.user_id
        where users._bronze_registered_at > (select utilisateurs_vus_jusqua from already_built)
    ),
{% endif %}

events_in_scope as (
    select * from {{ ref('stg_bceao__events') }}
    {% if is_incremental() %}
        where session_id in (select session_id from sessions_to_rebuild)
    {% endif %}
),

countries as (
    select code, nom from {{ ref('pays_uemoa') }}
),

sessions as (
    select
        session_id,
        count(*) as evenements_session,
        min(occurred_at) as session_debut,
        max(occurred_at) as session_fin
    from events_in_scope
    group by session_id
),

enriched as (
    select
        events.event_id,
        events.user_id,
        events.session_id,
        events.event_type,
        events.page,
        events.occurred_at,
        to_date(events.occurred_at) as date_evenement,
        users.pays as pays_utilisateur,
        countries.nom as pays_utilisateur_nom,
        users.created_at as compte_cree_le,
        cast(floor((unix_timestamp(events.occurred_at) - unix_timestamp(users.created_at)) / 86400) as int)
            as anciennete_compte_jours,
        users.user_id is not null as utilisateur_connu,
        sessions.evenements_session,
        row_number() over (partition by events.session_id order by events.occurred_at, events.event_id)
            as rang_dans_session,
        sessions.session_debut,
        sessions.session_fin,
        unix_timestamp(sessions.session_fin) - unix_timestamp(sessions.session_debut) as duree_session_secondes,
        events._airbyte_raw_id,
        events._bronze_registered_at as _evenement_enregistre_le,
        users._bronze_registered_at as _utilisateur_enregistre_le
    from events_in_scope as events
    inner join sessions on events.session_id = sessions.session_id
    left join {{ ref('stg_bceao__users') }} as users on events.user_id = users.user_id
    left join countries on users.pays = countries.code
)

select * from enriched
