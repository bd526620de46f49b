"""PySpark jobs of the lakehouse (the Spark session factory, bronze registration, reconciliation,
Iceberg maintenance); a job package: it imports only `lakehouse.core`."""
