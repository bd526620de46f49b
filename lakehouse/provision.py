"""`make setup` after the virtualenv: local settings file, Java check, verified jars.

Idempotent and quick when nothing changed: an existing `conf/lakehouse.env` is kept
(missing credentials are filled in), jars already present are only re-verified.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from lakehouse.core import class_archive, jars, spark_conf, web_assets
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


def provision(progress: Reporter = print, quiet: bool = False) -> Settings:
    """With `quiet` (setup run as another target's prerequisite), only what was done is said: settings
    generated, jars extracted or replaced, the class archive built; the checks that found everything in
    place print nothing."""
    summary: Reporter = (lambda _: None) if quiet else progress
    ensure_local_settings(progress=progress)
    settings = load_settings()
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
