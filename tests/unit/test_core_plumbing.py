"""The shared plumbing of `lakehouse.core`: one base error type, one first-line helper, one reporter type,
one private-file writer."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import stat

import lakehouse
import lakehouse_ingestion
import lakehouse_spark
from lakehouse.core.errors import LakehouseError, first_line
from lakehouse.core.files import write_private
from lakehouse.core.reporting import indented, silent

# Exceptions of production packages that never reach the user, and why.
INTERNAL_EXCEPTIONS = {
    "lakehouse_spark.schema_drift.IncompatibleSchema": "caught by register: the file goes to quarantine with it",
    "lakehouse_ingestion.arrow_schema.Unconvertible": "caught by conform: the value is nulled and recorded",
    "lakehouse.core.faults.SimulatedCrash": "test-only crash simulation, must escape like a real crash",
    "lakehouse_spark.register.RegistrationLost": "caught by register: it reads the ledger again and retries",
    "lakehouse_ingestion.lake_store.SimulatedCrash": "test-only crash simulation, must escape like a real crash",
}


# Built when imported, from the lake's settings and dbt manifest: Dagster loads it (`make orchestrator`).
LOADED_BY_DAGSTER = ("lakehouse.orchestrator.code_location",)


def production_exceptions() -> dict[str, type]:
    found = {}
    for package in (lakehouse, lakehouse_ingestion, lakehouse_spark):
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            if info.name.endswith(".__main__") or info.name in LOADED_BY_DAGSTER:
                continue  # running it would start the command line, or build the orchestrator's definitions
            module = importlib.import_module(info.name)
            for name, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, BaseException) and value.__module__ == module.__name__:
                    found[f"{module.__name__}.{name}"] = value
    return found


def test_every_user_facing_error_is_a_lakehouse_error():
    exceptions = production_exceptions()
    assert len(exceptions) >= 15, sorted(exceptions)
    outside = sorted(
        name
        for name, cls in exceptions.items()
        if not issubclass(cls, LakehouseError) and name not in INTERNAL_EXCEPTIONS
    )
    assert not outside, f"erreurs que la CLI n'attraperait pas : {outside}"
    assert set(INTERNAL_EXCEPTIONS) <= set(exceptions), "a listed internal exception no longer exists"


def test_the_cli_catches_the_base_type_alone():
    from lakehouse import cli

    source = inspect.getsource(cli)
    assert "except LakehouseError as error:" in source
    assert "USER_ERRORS" not in source


def test_first_line_skips_java_frames_and_py4j_wrappers():
    error = RuntimeError(
        "An error occurred while calling o42.sql.\n"
        ": org.apache.iceberg.exceptions.CommitFailedException: Cannot commit bronze.t\n"
        "\tat org.apache.iceberg.BaseTransaction.commit(BaseTransaction.java:1)\n"
    )
    assert first_line(error) == "org.apache.iceberg.exceptions.CommitFailedException: Cannot commit bronze.t"


def test_first_line_adds_the_root_cause_of_a_java_error():
    error = RuntimeError(
        "An error occurred while calling o88.sql.\n"
        ": org.apache.iceberg.exceptions.RESTException: Error occurred while processing POST request\n"
        "\tat org.apache.iceberg.rest.HTTPClient.execute(HTTPClient.java:1)\n"
        "Caused by: java.io.IOException: wrapped\n"
        "Caused by: org.apache.hc.client5.http.HttpHostConnectException: Connect to http://127.0.0.1:8181 failed\n"
        "\t... 87 more\n"
    )
    assert first_line(error) == (
        "org.apache.iceberg.exceptions.RESTException: Error occurred while processing POST request "
        "(cause : org.apache.hc.client5.http.HttpHostConnectException: Connect to http://127.0.0.1:8181 failed)"
    )


def test_first_line_of_an_empty_error_is_its_type_and_long_lines_are_cut():
    assert first_line(KeyError()) == "KeyError"
    assert first_line("") == "erreur inconnue"
    assert first_line("x" * 50, limit=10) == "x" * 10 + " ..."


def test_reporters_silent_and_indented():
    lines: list[str] = []
    indented(lines.append, "  ")("étape")
    silent("rien")
    assert lines == ["  étape"]


def test_private_files_are_owner_only_from_the_start_and_replace_atomically(tmp_path):
    target = tmp_path / "conf" / "secret.env"
    write_private(target, "A=1\n")
    target.chmod(0o644)
    write_private(target, "A=2\n")
    assert target.read_text() == "A=2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["secret.env"], "no temporary file left behind"


def test_lakehouse_error_is_a_plain_exception():
    assert issubclass(LakehouseError, Exception) and not issubclass(LakehouseError, (ValueError, RuntimeError))
