"""The project's own jar (`spark/java/`): compiled by setup against the verified jars, the same bytes for the
same sources, rebuilt when they change, refused when altered; the Spark configuration names its FileIO."""

from __future__ import annotations

import shutil

import pytest

from lakehouse.core import jars, own_jar, spark_conf
from lakehouse.core.settings import SettingsError

pytestmark = pytest.mark.skipif(shutil.which("javac") is None, reason="javac absent (JRE seul)")


@pytest.fixture()
def settings(stack_settings, tmp_path):
    """The test stack's verified jars, and state and cache folders of the test's own for the compiled jar."""
    state = stack_settings.with_values(
        LAKEHOUSE_STATE_DIR=str(tmp_path / "state"), LAKEHOUSE_CACHE_DIR=str(tmp_path / "cache")
    )
    return state, jars.verified_jars(stack_settings)[:-1]


def test_the_same_sources_give_the_same_jar_and_an_altered_jar_is_refused(settings, tmp_path):
    state, runtime = settings
    javac = shutil.which("javac")
    own_jar._compile(javac, runtime, tmp_path / "one")
    own_jar._compile(javac, runtime, tmp_path / "two")
    assert (tmp_path / "one" / own_jar.JAR_NAME).read_bytes() == (tmp_path / "two" / own_jar.JAR_NAME).read_bytes()

    built = own_jar.build_own_jar(state, runtime, progress=lambda _: None)
    first = built.read_bytes()
    assert own_jar.verified_own_jar(state) == built
    built.write_bytes(first[:-1] + bytes([first[-1] ^ 1]))  # also alters the cached copy it is linked to
    with pytest.raises(own_jar.OwnJarError, match="modifié depuis sa compilation"):
        own_jar.verified_own_jar(state)
    messages: list[str] = []
    own_jar.build_own_jar(state, runtime, progress=messages.append)  # setup compiles it again
    assert any("compilation" in message for message in messages)
    assert own_jar.verified_own_jar(state).read_bytes() == first


def test_changed_sources_are_refused_until_setup_compiles_them(settings, monkeypatch):
    state, runtime = settings
    own_jar.build_own_jar(state, runtime, progress=lambda _: None)
    monkeypatch.setattr(own_jar, "source_digest", lambda: "0" * 64)
    with pytest.raises(own_jar.OwnJarError, match="sources de spark/java/ ont changé"):
        own_jar.verified_own_jar(state)


def test_the_spark_configuration_reads_through_it_unless_turned_off(settings):
    state, runtime = settings
    built = own_jar.build_own_jar(state, runtime, progress=lambda _: None)
    rendered = spark_conf.render(state, [*runtime, built])
    assert f".io-impl {own_jar.FILE_IO_CLASS}" in rendered and ".whole-file.max-bytes 8388608" in rendered
    off = spark_conf.render(state.with_values(LAKEHOUSE_WHOLE_FILE_MAX_BYTES="0"), [*runtime, built])
    assert ".io-impl org.apache.iceberg.hadoop.HadoopFileIO" in off and "whole-file" not in off
    assert ".io-impl org.apache.iceberg.hadoop.HadoopFileIO" in spark_conf.render(state, runtime)  # no javac


def test_a_threshold_above_one_gib_is_refused_in_french(settings):
    state, runtime = settings
    built = own_jar.build_own_jar(state, runtime, progress=lambda _: None)
    with pytest.raises(SettingsError, match="LAKEHOUSE_WHOLE_FILE_MAX_BYTES=2147483648 : au plus 1073741824"):
        spark_conf.render(state.with_values(LAKEHOUSE_WHOLE_FILE_MAX_BYTES=str(1 << 31)), [*runtime, built])
