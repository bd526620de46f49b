"""The JVM class archive: named only when one exists for these very jars, never when turned off."""

from __future__ import annotations

import os

import pytest

from lakehouse.core import class_archive, spark_conf
from lakehouse.core.errors import LakehouseError
from lakehouse.core.settings import load_settings
from lakehouse.provision import check_writable_folders


def _settings(tmp_path, **environ):
    credentials = {"LAKEHOUSE_S3_ACCESS_KEY": "AKTEST", "LAKEHOUSE_S3_SECRET_KEY": "secret"}
    return load_settings(
        environ={**credentials, "LAKEHOUSE_STATE_DIR": str(tmp_path), **environ}, env_file=tmp_path / "absent.env"
    )


def _jars(tmp_path):
    folder = tmp_path / "jars"
    folder.mkdir(exist_ok=True)
    jars = [folder / "a.jar", folder / "b.jar"]
    for jar in jars:
        jar.write_bytes(b"PK")
    return jars


def test_the_archive_is_named_to_the_driver_only_once_built(tmp_path):
    settings, jars = _settings(tmp_path), _jars(tmp_path)
    assert class_archive.java_options(settings, jars) == ""
    archive = class_archive.archive_path(settings, jars)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    options = class_archive.java_options(settings, jars)
    assert options == f"-XX:SharedArchiveFile={archive} -Xlog:cds=off,cds+dynamic=off"
    driver = spark_conf.spark_properties(settings, jars)["spark.driver.extraJavaOptions"]
    assert driver.startswith("-XX:+UseG1GC") and driver.endswith(options)
    assert options not in spark_conf.spark_properties(settings, jars)["spark.executor.extraJavaOptions"]


def test_a_changed_jar_names_another_archive(tmp_path):
    settings, jars = _settings(tmp_path), _jars(tmp_path)
    before = class_archive.archive_path(settings, jars)
    assert class_archive.archive_path(settings, jars) == before
    os.utime(jars[0], ns=(1, 1))
    assert class_archive.archive_path(settings, jars) != before
    assert class_archive.archive_path(settings, jars[:1]) != class_archive.archive_path(settings, jars)


def test_turned_off_nothing_is_built_or_named(tmp_path):
    settings, jars = _settings(tmp_path, LAKEHOUSE_CLASS_ARCHIVE="false"), _jars(tmp_path)
    archive = class_archive.archive_path(settings, jars)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    assert class_archive.java_options(settings, jars) == ""
    assert "désactivée" in class_archive.ensure_archive(settings, jars)


def test_a_failed_build_is_not_retried_at_every_setup(tmp_path):
    settings, jars = _settings(tmp_path), _jars(tmp_path)
    failed = class_archive.archive_path(settings, jars).with_suffix(".failed")
    failed.parent.mkdir(parents=True)
    failed.write_text("raison\n")
    line = class_archive.ensure_archive(settings, jars)
    assert "non construite" in line and str(failed) in line


def test_a_shared_spark_runtime_holds_the_jars_and_the_archive_of_every_stack_naming_it(tmp_path):
    alone = _settings(tmp_path / "alone")
    assert alone.spark_runtime_dir == alone.state_dir and alone.jars_dir == alone.state_dir / "jars"
    shared = tmp_path / "runtime"
    first, second = (
        _settings(tmp_path / name, LAKEHOUSE_SPARK_RUNTIME_DIR=str(shared)) for name in ("first", "second")
    )
    assert first.state_dir != second.state_dir and first.jars_dir == second.jars_dir == shared / "jars"
    shared.mkdir()
    jars = _jars(shared)
    assert class_archive.archive_path(first, jars) == class_archive.archive_path(second, jars)
    assert class_archive.archive_path(first, jars).parent == shared / "jvm"


@pytest.mark.parametrize("setting", ["LAKEHOUSE_SPARK_RUNTIME_DIR", "LAKEHOUSE_STATE_DIR"])
def test_a_folder_that_cannot_be_written_is_refused_in_one_line_naming_its_setting(tmp_path, setting):
    a_file = tmp_path / "un-fichier"
    a_file.write_text("")
    cache = {"LAKEHOUSE_CACHE_DIR": str(tmp_path / "cache")}
    settings = _settings(tmp_path / "ok", **cache, **{setting: str(a_file / "dessous")})
    with pytest.raises(LakehouseError) as refused:
        check_writable_folders(settings)
    message = str(refused.value)
    assert message.startswith(f"{setting} : ") and "un élément du chemin est un fichier" in message
    assert "\n" not in message and "Errno" not in message
    check_writable_folders(_settings(tmp_path / "ok", **cache))  # creatable folders pass, and are created
    assert (tmp_path / "ok").is_dir() and (tmp_path / "cache").is_dir()
