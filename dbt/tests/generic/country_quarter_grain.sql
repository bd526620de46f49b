{#- The model has one row per (pays, annee, trimestre), pays is a member state (seed pays_uemoa),
    annee is not null and trimestre lies in 1-4. Returns each offending key with the rule it breaks. -#}
{% test country_quarter_grain(model) %}
with model_keys as (
    select pays, annee, trimestre from {{ model }}
),

member_states as (
    select code from {{ ref('pays_uemoa') }}
),

duplicated_keys as (
    select pays, annee, trimestre, 'clé (pays, annee, trimestre) en double' as probleme
    from model_keys
    group by pays, annee, trimestre
    having count(*) > 1
),

checked_keys as (
    select
        model_keys.pays,
        model_keys.annee,
        model_keys.trimestre,
        case
            when model_keys.pays is null then 'pays manquant'
            when member_states.code is null then 'pays hors UEMOA'
            when model_keys.annee is null then 'annee manquante'
            when model_keys.trimestre is null then 'trimestre manquant'
            when model_keys.trimestre not between 1 and 4 then 'trimestre hors 1-4'
        end as probleme
    from model_keys
    left join member_states on model_keys.pays = member_states.code
)

select * from duplicated_keys
union all
select * from checked_keys where probleme is not null
{% endtest %}
