"""Core of the UEMOA lakehouse: settings, runtime jars, local services, pipeline orchestration."""
