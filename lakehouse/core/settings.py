"""The lakehouse settings: the one module that reads `conf/` and the environment.

Every setting is declared, with its default and its documentation, in
`conf/lakehouse.env.example`. Values are layered, last wins:

1. `conf/lakehouse.env.example` (defaults; the list of known keys),
2. `conf/lakehouse.env` (the user's copy, git-ignored; another file via `LAKEHOUSE_ENV_FILE`),
3. environment variables named `LAKEHOUSE_*`.

An unknown key in a settings file is an error (it is almost always a typo); no host,
port or credential literal lives anywhere else in the code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lakehouse.core.errors import LakehouseError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = PROJECT_ROOT / "conf"
EXAMPLE_FILE = CONF_DIR / "lakehouse.env.example"
DEFAULT_LOCAL_FILE = CONF_DIR / "lakehouse.env"
PREFIX = "LAKEHOUSE_"
ENV_FILE_VARIABLE = "LAKEHOUSE_ENV_FILE"
SEAWEEDFS_GRPC_OFFSET = 10000  # each SeaweedFS server listens for gRPC on its HTTP port + 10000

_LINE = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


class SettingsError(LakehouseError):
    """A settings file or value is wrong; the message says which and what to do."""


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse a `KEY=value` file (comments with `#`, optional quotes, no interpolation)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise SettingsError(f"{path}:{number}: ligne illisible {raw!r} (attendu: CLE=valeur)")
        value = match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[match["key"]] = value
    return values


def _port_of(url: str, key: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{key}={url!r} n'est pas une URL http(s)://hote:port valide")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class Settings:
    """Resolved settings; `values` holds every `LAKEHOUSE_*` key, `origins` where each came from."""

    values: Mapping[str, str]
    origins: Mapping[str, str]

    # -- raw access -------------------------------------------------------------------
    def get(self, name: str) -> str:
        key = name if name.startswith(PREFIX) else PREFIX + name
        try:
            return self.values[key]
        except KeyError:
            raise SettingsError(f"réglage inconnu {key} (voir {EXAMPLE_FILE})") from None

    def get_int(self, name: str) -> int:
        value = self.get(name)
        try:
            return int(value)
        except ValueError:
            raise SettingsError(
                f"{PREFIX}{name}={value!r} doit être un entier ({self.origins.get(PREFIX + name)})"
            ) from None

    def get_seconds(self, name: str, at_least: int) -> int:
        return self._int_at_least(name, at_least, " secondes")

    def get_count(self, name: str, at_least: int) -> int:
        return self._int_at_least(name, at_least, "")

    def _int_at_least(self, name: str, at_least: int, unit: str) -> int:
        value = self.get_int(name)
        if value < at_least:
            raise SettingsError(f"{PREFIX}{name}={value} : au moins {at_least}{unit}")
        return value

    def get_bool(self, name: str) -> bool:
        value = self.get(name).lower()
        if value in ("1", "true", "yes", "on", "oui"):
            return True
        if value in ("0", "false", "no", "off", "non", ""):
            return False
        raise SettingsError(f"{PREFIX}{name}={value!r} doit valoir true ou false")

    def get_choice(self, name: str, choices: tuple[str, ...]) -> str:
        """A value among `choices` (case-insensitive), or a SettingsError listing them."""
        value = self.get(name).strip().lower()
        if value not in choices:
            raise SettingsError(f"{PREFIX}{name}={value!r} : valeurs possibles {', '.join(choices)}")
        return value

    def with_values(self, **overrides: str) -> Settings:
        """A copy with some `LAKEHOUSE_*` values replaced (throwaway stacks, tests, benchmarks)."""
        unknown = [key for key in overrides if key not in self.values]
        if unknown:
            raise SettingsError(f"réglages inconnus : {', '.join(unknown)}")
        return Settings(
            values={**self.values, **overrides}, origins={**self.origins, **{key: "surcharge" for key in overrides}}
        )

    def as_environment(self) -> dict[str, str]:
        """The settings as environment variables, for child processes (dbt, beeline, jobs)."""
        return dict(self.values)

    # -- folders ------------------------------------------------------------------------
    def _path(self, name: str) -> Path:
        path = Path(os.path.expanduser(self.get(name)))
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def state_dir(self) -> Path:
        return self._path("STATE_DIR")

    @property
    def cache_dir(self) -> Path:
        return self._path("CACHE_DIR")

    @property
    def spark_runtime_dir(self) -> Path:
        """Where Spark's verified jars (`jars/`) and the JVM class archive built for them (`jvm/`) are: the
        state folder unless LAKEHOUSE_SPARK_RUNTIME_DIR names one that several stacks share."""
        return self._path("SPARK_RUNTIME_DIR") if self.get("SPARK_RUNTIME_DIR") else self.state_dir

    @property
    def jars_dir(self) -> Path:
        return self.spark_runtime_dir / "jars"

    @property
    def run_dir(self) -> Path:
        """PID files."""
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def rendered_conf_dir(self) -> Path:
        """Configuration files rendered from `conf/templates/` (they hold secrets: mode 0600)."""
        return self.state_dir / "conf"

    @property
    def jar_source(self) -> str:
        source = self.get("JAR_SOURCE").lower()
        if source not in ("pypi", "maven"):
            raise SettingsError(f"LAKEHOUSE_JAR_SOURCE={source!r}: valeurs possibles pypi ou maven")
        return source

    # -- S3 ----------------------------------------------------------------------------------
    @property
    def s3_endpoint(self) -> str:
        return self.get("S3_ENDPOINT").rstrip("/")

    @property
    def s3_host_port(self) -> tuple[str, int]:
        return _port_of(self.s3_endpoint, "LAKEHOUSE_S3_ENDPOINT")

    @property
    def s3_region(self) -> str:
        return self.get("S3_REGION")

    @property
    def s3_access_key(self) -> str:
        return self._secret("S3_ACCESS_KEY")

    @property
    def s3_secret_key(self) -> str:
        return self._secret("S3_SECRET_KEY")

    def _secret(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise SettingsError(
                f"{PREFIX}{name} est vide : lancez `make setup` (il génère conf/lakehouse.env) "
                f"ou définissez la variable d'environnement {PREFIX}{name}"
            )
        return value

    @property
    def landing_bucket(self) -> str:
        return self.get("LANDING_BUCKET")

    # -- Iceberg REST catalog --------------------------------------------------------------------
    @property
    def catalog_name(self) -> str:
        return self.get("CATALOG_NAME")

    @property
    def catalog_uri(self) -> str:
        return self.get("CATALOG_URI").rstrip("/")

    @property
    def catalog_host_port(self) -> tuple[str, int]:
        return _port_of(self.catalog_uri, "LAKEHOUSE_CATALOG_URI")

    @property
    def catalog_auth(self) -> str:
        auth = self.get("CATALOG_AUTH").lower()
        if auth not in ("oauth2", "none"):
            raise SettingsError(f"LAKEHOUSE_CATALOG_AUTH={auth!r}: valeurs possibles oauth2 ou none")
        return auth

    @property
    def catalog_token_uri(self) -> str:
        return f"{self.catalog_uri}/v1/oauth/tokens"

    @property
    def catalog_token_ttl(self) -> int:
        """Lifetime in seconds of the tokens the local catalog issues (LAKEHOUSE_CATALOG_TOKEN_TTL_S)."""
        return self.get_seconds("CATALOG_TOKEN_TTL_S", at_least=5)

    @property
    def warehouse(self) -> str:
        return self.get("WAREHOUSE")

    def _list(self, name: str) -> list[str]:
        return [item.strip() for item in self.get(name).split(",") if item.strip()]

    @property
    def namespaces(self) -> list[str]:
        return self._list("NAMESPACES")

    # -- Iceberg maintenance --------------------------------------------------------------------
    @property
    def maintenance_policy_file(self) -> Path:
        return self._path("MAINTENANCE_POLICY")

    @property
    def maintenance_namespaces(self) -> list[str]:
        return self._list("MAINTENANCE_NAMESPACES")

    # -- Pipeline ---------------------------------------------------------------------------------
    @property
    def full_run(self) -> bool:
        """Every step redoes all its work, changed or not (`make run FULL=1`)."""
        return self.get_bool("FULL_RUN")

    # -- Data quality and Write-Audit-Publish ----------------------------------------------------
    @property
    def audit_enabled(self) -> bool:
        return self.get_bool("AUDIT")

    @property
    def audited_namespaces(self) -> list[str]:
        return self._list("AUDITED_NAMESPACES")

    @property
    def quality_namespace(self) -> str:
        return self.get("QUALITY_NAMESPACE")

    @property
    def quality_dir(self) -> Path:
        """Great Expectations' working copy of quality/gx, its validation results and Data Docs."""
        return self.state_dir / "quality"

    @property
    def audit_dir(self) -> Path:
        """One JSON record per audit branch (make audit-report, make publish)."""
        return self.state_dir / "audits"

    # -- Spark and Thrift -----------------------------------------------------------------------
    @property
    def jupyter_host(self) -> str:
        return self.get("JUPYTER_HOST")

    @property
    def jupyter_port(self) -> int:
        return self.get_int("JUPYTER_PORT")

    @property
    def jupyter_token(self) -> str:
        return self._secret("JUPYTER_TOKEN")

    @property
    def jupyter_url(self) -> str:
        return f"http://{self.jupyter_host}:{self.jupyter_port}"

    @property
    def thrift_host(self) -> str:
        return self.get("THRIFT_HOST")

    @property
    def thrift_port(self) -> int:
        return self.get_int("THRIFT_PORT")

    @property
    def thrift_user(self) -> str:
        return self.get("THRIFT_USER")

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:hive2://{self.thrift_host}:{self.thrift_port}/default"

    @property
    def start_timeout(self) -> int:
        return self.get_int("START_TIMEOUT")

    @property
    def service_timeout(self) -> int:
        """Seconds after which a service that stopped answering fails the step (LAKEHOUSE_SERVICE_TIMEOUT_S)."""
        return self.get_seconds("SERVICE_TIMEOUT_S", at_least=10)

    def masked(self) -> dict[str, str]:
        """The values with secrets hidden, for display."""
        return {
            k: ("****" if k.endswith(("SECRET_KEY", "_TOKEN", "API_KEY", "PASSWORD")) and v else v)
            for k, v in sorted(self.values.items())
        }


def local_settings_file(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    override = environ.get(ENV_FILE_VARIABLE)
    return Path(override) if override else DEFAULT_LOCAL_FILE


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read the example defaults, then the local settings file, then `LAKEHOUSE_*` variables."""
    environ = os.environ if environ is None else environ
    defaults = parse_env_file(EXAMPLE_FILE)
    values = dict(defaults)
    origins = {key: str(EXAMPLE_FILE.name) for key in defaults}
    local = env_file or local_settings_file(environ)
    if local.exists():
        for key, value in parse_env_file(local).items():
            if key not in defaults:
                raise SettingsError(f"{local}: réglage inconnu {key} (les réglages connus sont dans {EXAMPLE_FILE})")
            values[key], origins[key] = value, str(local)
    for key, value in environ.items():
        if key in defaults:
            values[key], origins[key] = value, "environnement"
    return Settings(values=values, origins=origins)
