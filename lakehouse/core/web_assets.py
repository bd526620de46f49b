"""The CSS and JavaScript of the Great Expectations Data Docs, served by the site itself: readable offline.

GX 1.24 writes, in every page of its Data Docs, links to five CDNs (Bootstrap, jQuery, Font Awesome,
bootstrap-table, Vega…) and a logo fetched from its own S3 bucket with the data context's id in the
address. Offline, the page shows nothing but two buttons; online, every reader's browser calls out.

- `ensure_web_assets` (run by `make setup`): each package of `conf/web-assets.lock` is downloaded once
  from the npm registry (`LAKEHOUSE_NPM_REGISTRY`) into the user's cache, checked against its SHA-512
  integrity, and the listed files are extracted under `<state>/web-assets/<package>@<version>/`.
- `localize_site` (after each Data Docs build): those files are copied into the site
  (`static/vendor/`), and every address of the lock's `[cdn]` table is replaced, in every page, by the
  relative path of its copy; GX's remote logos become the logo the site already holds. An external
  address left in a `src` or `href` that loads something (script, style, image) is reported.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lakehouse.core.errors import LakehouseError
from lakehouse.core.files import write_private
from lakehouse.core.jars import cache_lock
from lakehouse.core.reporting import Reporter
from lakehouse.core.settings import CONF_DIR, Settings
from lakehouse.core.toml_files import read_toml

LOCK_FILE = CONF_DIR / "web-assets.lock"
VENDOR = "static/vendor"
GX_IMAGES = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
LOCAL_LOGO = "static/images/logo-long.png"
# What loads something from elsewhere: <script src>, <link href> (styles), <img src>.
LOADED = re.compile(r"""<(?:script|img)\b[^>]*\bsrc=["'](https?://[^"']+)|<link\b[^>]*\bhref=["'](https?://[^"']+)""")


class WebAssetError(LakehouseError):
    """A package of the Data Docs could not be fetched or does not match its recorded integrity."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    tarball: str
    integrity: str  # "sha512-<base64>", as the npm registry gives it
    files: tuple[str, ...]  # paths inside the package; a trailing / is a whole folder

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


def load_lock(path: Path = LOCK_FILE) -> tuple[list[Package], dict[str, str]]:
    data = read_toml(path, WebAssetError, "{path} absent : le dépôt est incomplet (git checkout conf/web-assets.lock)")
    packages = [
        Package(p["name"], p["version"], p["tarball"], p["integrity"], tuple(p["files"])) for p in data["package"]
    ]
    return packages, dict(data["cdn"])


def assets_dir(settings: Settings) -> Path:
    return settings.state_dir / "web-assets"


def _integrity_of(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def _tarball_url(package: Package, registry: str) -> str:
    """The tarball's address on the configured registry (the lock records the public one)."""
    return registry.rstrip("/") + package.tarball.removeprefix("https://registry.npmjs.org")


def _download(package: Package, settings: Settings, progress: Reporter) -> Path:
    folder = settings.cache_dir / "npm"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{package.name.replace('/', '__')}-{package.version}.tgz"
    if target.exists() and _integrity_of(target) == package.integrity:
        return target
    url = _tarball_url(package, settings.get("NPM_REGISTRY"))
    progress(f"téléchargement de {package.key} depuis {url} (une seule fois, gardé dans {folder})")
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".download-", delete=False) as out:
        part = Path(out.name)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, out)
        except OSError as error:
            part.unlink(missing_ok=True)
            raise WebAssetError(
                f"impossible de télécharger {package.key} ({url}) : {error} ; vérifiez l'accès au registre npm "
                "ou indiquez un miroir dans LAKEHOUSE_NPM_REGISTRY"
            ) from None
    found = _integrity_of(part)
    if found != package.integrity:
        part.unlink(missing_ok=True)
        raise WebAssetError(
            f"{package.key} : empreinte différente de {LOCK_FILE.name} (attendue {package.integrity[:30]}…, "
            f"trouvée {found[:30]}…) ; le paquet téléchargé est refusé"
        )
    os.replace(part, target)
    return target


def _extract(package: Package, tarball: Path, target: Path) -> None:
    """The package's listed files under `target` (npm tarballs hold them under `package/`)."""
    target.parent.mkdir(parents=True, exist_ok=True)  # scoped packages: @scope/name@version
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    work.chmod(0o755)
    try:
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                inside = member.name.removeprefix("package/")
                wanted = any(inside == f or (f.endswith("/") and inside.startswith(f)) for f in package.files)
                if wanted and member.isfile():
                    destination = work / inside
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.extractfile(member) as source, destination.open("wb") as out:
                        shutil.copyfileobj(source, out)
        missing = [f for f in package.files if not (work / f).exists()]
        if missing:
            raise WebAssetError(f"{package.key} ne contient pas {', '.join(missing)} (mauvaise version ?)")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_web_assets(settings: Settings, progress: Reporter = print) -> Path:
    """Every package of the lock extracted under `<state>/web-assets`, from the verified cache."""
    packages, _ = load_lock()
    root = assets_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    for package in packages:
        target = root / package.key
        stamp = target / ".integrity"
        if stamp.exists() and stamp.read_text().strip() == package.integrity:
            continue
        with cache_lock(settings.cache_dir, f"npm-{package.name.replace('/', '__')}-{package.version}"):
            tarball = _download(package, settings, progress)
        _extract(package, tarball, target)
        write_private(stamp, package.integrity + "\n")
    return root


def localize_site(settings: Settings, site: Path) -> list[str]:
    """Make the Data Docs site at `site` load nothing from outside (see the module's docstring); return
    the external addresses still loaded by some page (none expected), each with its page."""
    packages, cdn = load_lock()
    root = ensure_web_assets(settings, progress=lambda _: None)
    vendor = site / VENDOR
    for package in packages:
        destination = vendor / package.key
        if not (destination / ".integrity").exists():
            shutil.rmtree(destination, ignore_errors=True)
            shutil.copytree(root / package.key, destination)
    left = []
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        up = os.path.relpath(site, page.parent)
        prefix = "" if up == "." else up + "/"
        changed = text
        for address, local in cdn.items():
            changed = changed.replace(f'"{address}"', f'"{prefix}{VENDOR}/{local}"')
        changed = re.sub(re.escape(GX_IMAGES) + r"[^\"']*", f"{prefix}{LOCAL_LOGO}", changed)
        if changed != text:
            page.write_text(changed, encoding="utf-8")
        for match in LOADED.finditer(changed):
            left.append(f"{page.relative_to(site)} : {match.group(1) or match.group(2)}")
    return left
