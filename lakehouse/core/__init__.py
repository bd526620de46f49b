"""The base layer of the lakehouse: settings, stream declarations, errors, reporting, private files,
service clients and the Java/Spark runtime (verified jars, rendered Spark configuration).

Nothing here imports a job package (`lakehouse_ingestion`, `lakehouse_spark`), the orchestration
(`lakehouse.cli`, `lakehouse.pipeline`, ...) or the development support (`lakehouse_dev`);
`tests/unit/test_architecture.py` fails if it does.
"""
