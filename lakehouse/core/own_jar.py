"""The project's own jar: the whole-file read path of Iceberg (`spark/java/`), compiled at `make setup`.

`build_own_jar` compiles the Java sources with the JDK's `javac` against the verified runtime jars and
Spark's own, and packs them with fixed timestamps (the same sources and JDK give the same bytes), once per
version of the sources in the per-user cache (with the jar's SHA-256, checked before each reuse);
`<state>/jars/lakehouse-iceberg-io.jar` is a link to it. Beside it, `lakehouse-iceberg-io.lock` records the
SHA-256 of the sources and of the jar: the jar is rebuilt when the sources change, and `verified_own_jar`
checks it before a service or a Spark session uses it, as the other jars are checked. No binary is
committed.

Without `javac` (a JRE only), setup says so and the stack reads through Iceberg's HadoopFileIO.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import PROJECT_ROOT, Settings

SOURCE_DIR = PROJECT_ROOT / "spark" / "java"
JAR_NAME = "lakehouse-iceberg-io.jar"
LOCK_NAME = "lakehouse-iceberg-io.lock"
FILE_IO_CLASS = "lakehouse.iceberg.WholeFileIO"
# Spark's own jars the sources compile against (TaskContext, Hadoop's FileSystem, Scala's Function1).
SPARK_JARS = ("spark-core_2.12-", "hadoop-client-api-", "scala-library-")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class OwnJarError(LakehouseError):
    """The project's jar cannot be compiled, or is not the one its lock records."""


def sources() -> list[Path]:
    return sorted(SOURCE_DIR.rglob("*.java"))


def source_digest() -> str:
    digest = hashlib.sha256()
    for path in sources():
        digest.update(path.relative_to(SOURCE_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lock(settings: Settings) -> dict:
    """The recorded digests; {} when absent or unreadable (setup then compiles again, use is refused)."""
    try:
        return json.loads((settings.jars_dir / LOCK_NAME).read_text())
    except (OSError, ValueError):
        return {}


def _spark_jars() -> list[Path]:
    from lakehouse.core.spark_conf import spark_home

    found = [path for path in sorted((spark_home() / "jars").glob("*.jar")) if path.name.startswith(SPARK_JARS)]
    if len(found) != len(SPARK_JARS):
        raise OwnJarError(f"jars de Spark introuvables dans {spark_home() / 'jars'} : {', '.join(SPARK_JARS)}")
    return found


def _pack(classes: Path, target: Path) -> None:
    """A jar of `classes` whose bytes depend only on the classes (sorted entries, fixed timestamps)."""
    manifest = "Manifest-Version: 1.0\r\nCreated-By: lakehouse (make setup)\r\n\r\n"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as jar:
        jar.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", _FIXED_TIME), manifest)
        for path in sorted(classes.rglob("*.class")):
            info = zipfile.ZipInfo(path.relative_to(classes).as_posix(), _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            jar.writestr(info, path.read_bytes())


def build_own_jar(settings: Settings, runtime_jars: list[Path], progress: Reporter = print) -> Path | None:
    """The compiled jar in `<state>/jars/` (rebuilt if its sources changed); None without `javac`.
    Compiled once per version of the sources in the per-user cache, shared by checkouts and test stacks."""
    from lakehouse.core.jars import link_or_copy

    target, digest = settings.jars_dir / JAR_NAME, source_digest()
    lock = _lock(settings)
    if target.is_file() and lock.get("sources_sha256") == digest and lock.get("jar_sha256") == _sha256(target):
        return target
    javac = shutil.which("javac")
    if javac is None:
        progress(
            "javac introuvable (JRE seul) : les petits fichiers sont lus par HadoopFileIO, sans la lecture "
            "en une requête (spark/README.md) ; pour l'avoir : apt-get install openjdk-17-jdk-headless, "
            "puis make setup"
        )
        return None
    version = _javac_version(javac)
    cached = settings.cache_dir / "jars" / f"own-{digest[:16]}-{hashlib.sha256(version.encode()).hexdigest()[:8]}"
    jar, recorded = cached / JAR_NAME, cached / "sha256"
    if not (jar.is_file() and recorded.is_file() and recorded.read_text().strip() == _sha256(jar)):
        progress(f"compilation de la lecture des petits fichiers ({len(sources())} sources Java, spark/java/)")
        _compile(javac, runtime_jars, cached)
    link_or_copy(jar, target)
    lock = {"sources_sha256": digest, "jar_sha256": recorded.read_text().strip(), "javac": version}
    partial = settings.jars_dir / f".{LOCK_NAME}.{os.getpid()}"
    partial.write_text(json.dumps(lock, indent=2) + "\n")
    partial.replace(settings.jars_dir / LOCK_NAME)  # a killed setup never leaves half a lock
    return target


def _compile(javac: str, runtime_jars: list[Path], folder: Path) -> None:
    """Compile the sources and pack them in `folder/JAR_NAME` (written under another name, then renamed)."""
    classpath = ":".join(str(path) for path in [*runtime_jars, *_spark_jars()])
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lakehouse-javac-") as work:
        classes = Path(work) / "classes"
        command = [javac, "--release", "17", "-encoding", "UTF-8", "-nowarn", "-Xlint:-path"]
        command += ["-cp", classpath, "-d", str(classes), *map(str, sources())]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise OwnJarError(f"javac a échoué sur spark/java/ :\n{(result.stdout + result.stderr).strip()[-3000:]}")
        partial = folder / f".{JAR_NAME}.{Path(work).name}"
        _pack(classes, partial)
        digest = _sha256(partial)
        (folder / JAR_NAME).unlink(missing_ok=True)  # a new inode: links to an altered copy keep theirs
        partial.replace(folder / JAR_NAME)
        recorded = folder / f".sha256.{Path(work).name}"
        recorded.write_text(digest + "\n")
        recorded.replace(folder / "sha256")


def _javac_version(javac: str) -> str:
    result = subprocess.run([javac, "-version"], capture_output=True, text=True)
    return (result.stdout + result.stderr).strip()


def verified_own_jar(settings: Settings) -> Path | None:
    """The compiled jar, checked against its lock; None when setup had no `javac` (no jar, no lock)."""
    target, lock = settings.jars_dir / JAR_NAME, _lock(settings)
    if not lock and not target.exists():
        return None
    if not target.is_file() or lock.get("jar_sha256") != _sha256(target):
        raise OwnJarError(f"{target} : absent ou modifié depuis sa compilation — lancez `make setup`")
    if lock.get("sources_sha256") != source_digest():
        raise OwnJarError(f"{target} : les sources de spark/java/ ont changé depuis sa compilation — make setup")
    return target
