"""The UEMOA lakehouse in Python. `lakehouse.core` is the base layer (settings, streams, errors,
clients, Java/Spark runtime); the modules beside it are the orchestration on top: the command line
(`cli`), the pipeline (`pipeline`), the local services (`services`, `stack`), setup (`provision`),
dbt (`dbt_runner`) and the BCEAO API used by the ingestion (`bceao_api`). The jobs live in
`lakehouse_ingestion` (ingestion/) and `lakehouse_spark` (spark/), between the two."""
