"""Bad or revised rows written straight into a lake's bronze, as a faulty publication would bring them (the
quality gate's tests, the orchestrator's failed check)."""

from __future__ import annotations

INDICATORS = "indicateurs_economiques_uemoa"


def plant(spark, settings, key: tuple[str, int, int], published: str, **values: str) -> None:
    """Land in bronze a copy of `key`'s latest indicators row (pays, annee, trimestre) with another publication
    date and some values changed (SQL expressions)."""
    bronze = f"lakehouse.{settings.get('BRONZE_NAMESPACE')}.{INDICATORS}"
    columns = [field.name for field in spark.table(bronze).schema.fields]
    overrides = {"_airbyte_raw_id": "uuid()", "date_publication": f"date '{published}'", **values}
    select = ", ".join(f"{overrides[c]} as {c}" if c in overrides else c for c in columns)
    pays, annee, trimestre = key
    spark.sql(
        f"INSERT INTO {bronze} SELECT {select} FROM {bronze} "
        f"WHERE pays = '{pays}' AND annee = {annee} AND trimestre = {trimestre} "
        f"ORDER BY date_publication DESC LIMIT 1"
    )
