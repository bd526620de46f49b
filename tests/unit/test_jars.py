"""Runtime jars: the lock, SHA-256 verification, refusal of a tampered jar, repair by setup."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from lakehouse.core import jars, own_jar
from lakehouse.core.settings import load_settings


def test_lock_lists_the_three_runtime_jars_with_digests():
    specs = jars.load_lock()
    assert {spec.name for spec in specs} == {
        "iceberg-spark-runtime-3.5_2.12-1.10.2.jar",
        "hadoop-aws-3.3.1.jar",
        "aws-java-sdk-bundle-1.11.901.jar",
    }
    for spec in specs:
        assert len(spec.sha256) == 64 and spec.size > 0 and spec.pypi.count("==") == 1
        assert spec.maven.count(":") == 2


def _fake_distribution(folder, content: bytes) -> jars.JarSpec:
    """A tiny wheel in the cache's dists folder, so resolution needs no network."""
    dists = folder / "cache" / "dists"
    dists.mkdir(parents=True)
    with zipfile.ZipFile(dists / "fakedeps-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("fakedeps/jars/fake.jar", content)
    good = b"PK-fake-jar-content"
    return jars.JarSpec(
        name="fake.jar",
        sha256=hashlib.sha256(good).hexdigest(),
        size=len(good),
        pypi="fakedeps==1.0",
        pypi_format="wheel",
        member="fakedeps/jars/fake.jar",
        maven="org.example:fake:1.0",
    )


def _settings(folder):
    return load_settings(
        environ={"LAKEHOUSE_STATE_DIR": str(folder / "state"), "LAKEHOUSE_CACHE_DIR": str(folder / "cache")},
        env_file=folder / "absent.env",
    )


def test_resolution_extracts_verifies_and_refuses_a_tampered_jar(tmp_path):
    spec = _fake_distribution(tmp_path, b"PK-fake-jar-content")
    settings = _settings(tmp_path)
    [path] = jars.resolve_jars(settings, progress=lambda _: None, specs=[spec])
    assert path == settings.jars_dir / "fake.jar"
    assert jars.verified_jars(settings, specs=[spec]) == [path]

    path.write_bytes(b"PK-fake-jar-cont3nt")  # same size, other bytes
    with pytest.raises(jars.JarError) as refused:
        jars.verified_jars(settings, specs=[spec])
    message = str(refused.value)
    assert str(path) in message
    assert f"attendue {spec.sha256}" in message
    assert f"trouvée  {hashlib.sha256(b'PK-fake-jar-cont3nt').hexdigest()}" in message

    # setup repairs it from the kept distribution
    jars.resolve_jars(settings, progress=lambda _: None, specs=[spec])
    assert jars.verified_jars(settings, specs=[spec]) == [path]


def test_truncated_jar_is_refused_on_size(tmp_path):
    spec = _fake_distribution(tmp_path, b"PK-fake-jar-content")
    settings = _settings(tmp_path)
    [path] = jars.resolve_jars(settings, progress=lambda _: None, specs=[spec])
    path.write_bytes(b"PK")
    with pytest.raises(jars.JarError, match="taille inattendue"):
        jars.verified_jars(settings, specs=[spec])


def test_a_distribution_with_other_content_is_refused_and_nothing_installed(tmp_path):
    spec = _fake_distribution(tmp_path, b"PK-something-else!!")
    settings = _settings(tmp_path)
    with pytest.raises(jars.JarError, match="ne correspond pas au verrou"):
        jars.resolve_jars(settings, progress=lambda _: None, specs=[spec])
    assert not (settings.jars_dir / "fake.jar").exists()


def test_missing_jar_tells_to_run_setup(tmp_path):
    spec = _fake_distribution(tmp_path, b"PK-fake-jar-content")
    with pytest.raises(jars.JarError, match="make setup"):
        jars.verified_jars(_settings(tmp_path), specs=[spec])


def test_real_runtime_jars_of_the_test_stack_match_the_lock(stack_settings):
    paths = jars.verified_jars(stack_settings)
    assert [p.name for p in paths] == [spec.name for spec in jars.load_lock()] + [own_jar.JAR_NAME]


def _fake_mvn(folder, content: bytes):
    """Maven Central is out of reach here: a stand-in `mvn` that "downloads" the artifact."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    payload = folder / "artifact.jar"
    payload.write_bytes(content)
    script = bin_dir / "mvn"
    script.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case $arg in -DoutputDirectory=*) out=${arg#-DoutputDirectory=};; '
        "-Dartifact=*) art=${arg#-Dartifact=};; esac; done\n"
        "name=$(echo $art | cut -d: -f2)-$(echo $art | cut -d: -f3).jar\n"
        f"cp {payload} $out/$name\n"
    )
    script.chmod(0o755)
    return bin_dir


def test_maven_source_records_digests_then_refuses_a_changed_jar(tmp_path, monkeypatch):
    spec = _fake_distribution(tmp_path, b"unused")
    monkeypatch.setenv("PATH", f"{_fake_mvn(tmp_path, b'maven-jar-v1')}:{__import__('os').environ['PATH']}")
    settings = load_settings(
        environ={"LAKEHOUSE_STATE_DIR": str(tmp_path / "state"), "LAKEHOUSE_JAR_SOURCE": "maven"},
        env_file=tmp_path / "absent.env",
    )
    [path] = jars.resolve_jars(settings, progress=lambda _: None, specs=[spec])
    assert path.name == "fake-1.0.jar"
    assert jars.verified_jars(settings, specs=[spec]) == [path]
    path.write_bytes(b"maven-jar-v2")
    with pytest.raises(jars.JarError, match="attendue"):
        jars.verified_jars(settings, specs=[spec])


def _resolve_in_own_state(folder, cache, spec, index):
    settings = load_settings(
        environ={"LAKEHOUSE_STATE_DIR": str(folder / f"state{index}"), "LAKEHOUSE_CACHE_DIR": str(cache)},
        env_file=folder / "absent.env",
    )
    return jars.resolve_jars(settings, progress=lambda _: None, specs=[spec])


def test_setups_running_at_once_share_the_cache_without_corrupting_it(tmp_path):
    import multiprocessing

    spec = _fake_distribution(tmp_path, b"PK-fake-jar-content")
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        results = pool.starmap(_resolve_in_own_state, [(tmp_path, tmp_path / "cache", spec, i) for i in range(4)])
    assert all(len(paths) == 1 and paths[0].read_bytes() == b"PK-fake-jar-content" for paths in results)
    # One verified jar in the cache, no half-written file left beside it.
    assert [p.name for p in (tmp_path / "cache" / "jars" / spec.sha256).iterdir()] == ["fake.jar"]


def test_a_download_is_written_aside_then_renamed_into_the_cache(tmp_path, monkeypatch):
    spec = _fake_distribution(tmp_path, b"PK-fake-jar-content")
    dists = tmp_path / "cache" / "dists"
    (dists / "fakedeps-1.0-py3-none-any.whl").rename(tmp_path / "wheel.whl")
    folders = []

    def fake_pip(command, **_):
        target = command[command.index("-d") + 1]
        folders.append(target)
        (tmp_path / "wheel.whl").rename(f"{target}/fakedeps-1.0-py3-none-any.whl")
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(jars.subprocess, "run", fake_pip)
    archive = jars._download_distribution(spec, dists, progress=lambda _: None)
    assert archive == dists / "fakedeps-1.0-py3-none-any.whl" and archive.is_file()
    assert folders and folders[0] != str(dists)  # pip never writes where another setup reads
    assert [p.name for p in dists.iterdir()] == [archive.name]  # its private folder is gone
