{{ config(materialized='table', schema='gold', partition_by=['annee']) }}

-- Critères de premier rang du pacte de convergence de l'UEMOA, par pays et année complète (4 trimestres).
-- Les formules sont dans macros/convergence.sql, testées sur des lignes calculées à la main (tests/).
{{ convergence_annuelle(ref('dim_uemoa_indicators')) }}
