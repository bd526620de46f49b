"""PySpark side of the lakehouse: the Spark session factory and the Spark jobs."""
