"""`make setup` after the virtualenv: local settings file, Java check, verified jars.

Idempotent and quick when nothing changed: an existing `conf/lakehouse.env` is kept
(missing credentials are filled in), jars already present are only re-verified.
"""

from __future__ import annotations

import errno
import re
import secrets
from pathlib import Path

from lakehouse.core import class_archive, jars, spark_conf, web_assets
from lakehouse.core.errors import LakehouseError
from lakehouse.core.files import write_private
from lakehouse.core.java import check_java
from lakehouse.core.notebook_kernel import install_kernel
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import EXAMPLE_FILE, Settings, load_settings, local_settings_file

GENERATED = {
    "LAKEHOUSE_S3_ACCESS_KEY": lambda: "LH" + secrets.token_hex(9).upper(),
    "LAKEHOUSE_S3_SECRET_KEY": lambda: secrets.token_urlsafe(30),
    "LAKEHOUSE_BCEAO_API_KEY": lambda: "bceao-" + secrets.token_urlsafe(24),
    "LAKEHOUSE_JUPYTER_TOKEN": lambda: secrets.token_hex(24),
    "LAKEHOUSE_SQL_TOKEN": lambda: secrets.token_hex(24),
    "LAKEHOUSE_POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(24),
}


def ensure_local_settings(path: Path | None = None, progress: Reporter = print) -> Path:
    """Create the local settings file from the example, with random credentials; fill empty ones."""
    path = path or local_settings_file()
    text = path.read_text(encoding="utf-8") if path.exists() else EXAMPLE_FILE.read_text(encoding="utf-8")
    filled = []
    for key, make in GENERATED.items():
        pattern = re.compile(rf"^{key}=\s*$", re.MULTILINE)
        if pattern.search(text):
            text = pattern.sub(f"{key}={make()}", text)
            filled.append(key)
        elif not re.search(rf"^{key}=", text, re.MULTILINE):
            text += f"\n{key}={make()}\n"
            filled.append(key)
    if filled or not path.exists():
        write_private(path, text)
        progress(f"{path} : identifiants générés ({', '.join(filled)})")
    return path


# Why a folder cannot be written, in French (other errors keep the system's text).
WHY_NOT_WRITABLE = {
    errno.ENOENT: "un dossier du chemin ne peut pas être créé",
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.ENOTDIR: "un élément du chemin est un fichier",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "disque plein",
}
# The folders setup writes, with the setting that names each one.
WRITTEN_FOLDERS = {
    "LAKEHOUSE_STATE_DIR": lambda settings: settings.state_dir,
    "LAKEHOUSE_CACHE_DIR": lambda settings: settings.cache_dir,
    "LAKEHOUSE_SPARK_RUNTIME_DIR": lambda settings: settings.spark_runtime_dir,
}


def check_writable_folders(settings: Settings) -> None:
    """Each folder setup writes exists or is created, and takes a file: otherwise one line naming its setting."""
    for name, folder_of in WRITTEN_FOLDERS.items():
        folder = folder_of(settings)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".ecriture-{secrets.token_hex(4)}"
            probe.touch()
            probe.unlink()
        except OSError as error:
            why = WHY_NOT_WRITABLE.get(error.errno, error.strerror or str(error))
            raise LakehouseError(
                f"{name} : le dossier {folder} ne peut pas être créé ou écrit ({why}) ; "
                f"donnez à {name} un dossier où vous pouvez écrire (conf/lakehouse.env)"
            ) from None


def provision(progress: Reporter = print, quiet: bool = False) -> Settings:
    """With `quiet` (setup run as another target's prerequisite), only what was done is said: settings
    generated, jars extracted or replaced, the class archive built; the checks that found everything in
    place print nothing."""
    summary: Reporter = (lambda _: None) if quiet else progress
    ensure_local_settings(progress=progress)
    settings = load_settings()
    check_writable_folders(settings)
    summary(check_java())
    paths = jars.resolve_jars(settings, progress)
    summary(f"{len(paths)} jars vérifiés (SHA-256) dans {settings.jars_dir}")
    archive = class_archive.ensure_archive(settings, paths, progress)
    (progress if "construite" in archive else summary)(archive)
    rendered = spark_conf.write_rendered(settings, paths)
    summary(f"configuration Spark rendue : {rendered}")
    summary(f"noyau Jupyter : {install_kernel()}")
    summary(f"fichiers des Data Docs (npm, SHA-512 vérifiés) : {web_assets.ensure_web_assets(settings, progress)}")
    return settings
