"""ingestion/terraform: deployment of ingestion/manifest.yaml on an Airbyte server.

No network here: the airbytehq/airbyte provider cannot be downloaded, so `terraform validate`
(which needs it) is not run. The .tf files are read as text (python-hcl2 is not a dependency);
when the `terraform` binary is on PATH it checks the formatting and evaluates variables.tf and
main.tf's `locals` (reading the real manifest), which need no provider.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from lakehouse.core.streams import load_streams

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "ingestion" / "terraform"
MANIFEST = ROOT / "ingestion" / "manifest.yaml"
TFVARS_EXAMPLE = TF_DIR / "terraform.tfvars.example"

# The streams as Airbyte's connection wants them (primary key as field paths, cursor as a path),
# from their one declaration in conf/streams.toml.
STREAMS = {spec.name: ([[key] for key in spec.primary_key], [spec.cursor]) for spec in load_streams().values()}
SECRETS = {"bceao_api_key", "s3_access_key_id", "s3_secret_access_key", "airbyte_client_id", "airbyte_client_secret"}
S3_PATH_FORMAT = "${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_"

terraform = shutil.which("terraform")
needs_terraform = pytest.mark.skipif(terraform is None, reason="binaire terraform absent du PATH")
needs_manifest = pytest.mark.skipif(not MANIFEST.is_file(), reason="ingestion/manifest.yaml absent")


# --- a minimal HCL reader: comments out, strings opaque, balanced braces -------------------------


def _strip_comments(text: str) -> str:
    """The text without `#`, `//` and `/* */` comments; string literals are kept as they are."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _body(code: str, open_at: int) -> str:
    """The content between the brace at `open_at` and its matching brace (strings skipped)."""
    depth, i = 0, open_at
    while i < len(code):
        c = code[i]
        if c == '"':
            i += 1
            while code[i] != '"':
                i += 2 if code[i] == "\\" else 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return code[open_at + 1 : i]
        i += 1
    raise AssertionError("unbalanced braces")


def _blocks(code: str, kind: str) -> dict[str, str]:
    """Top-level `kind "label" ["label"] {...}` blocks, keyed by their labels joined with '.'."""
    found = {}
    for m in re.finditer(rf'^{kind}((?:\s+"[^"]+")*)\s*\{{', code, re.M):
        labels = ".".join(re.findall(r'"([^"]+)"', m.group(1)))
        found[labels] = _body(code, m.end() - 1)
    return found


def _code(name: str) -> str:
    return _strip_comments((TF_DIR / name).read_text(encoding="utf-8"))


def _attr(body: str, name: str) -> str | None:
    """The raw one-line value of `name = value` in a block body."""
    m = re.search(rf"^\s*{name}\s*=\s*(.+?)\s*$", body, re.M)
    return m.group(1) if m else None


def _variables() -> dict[str, str]:
    return _blocks(_code("variables.tf"), "variable")


def _default(body: str):
    raw = _attr(body, "default")
    return json.loads(raw) if raw is not None else None  # HCL literals used here are JSON


def _main_blocks() -> dict[str, str]:
    return _blocks(_code("main.tf"), "resource")


def _tfvars_example() -> dict[str, str]:
    code = _strip_comments(TFVARS_EXAMPLE.read_text(encoding="utf-8"))
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s*([A-Za-z_][\w-]*)\s*=\s*(.+)$", code, re.M)}


# --- files and versions ------------------------------------------------------------------------


def test_terraform_folder_has_its_files():
    for name in (
        "versions.tf",
        "variables.tf",
        "main.tf",
        "outputs.tf",
        "terraform.tfvars.example",
        ".gitignore",
        "README.md",
    ):
        assert (TF_DIR / name).is_file(), name


def test_versions_pin_the_airbyte_provider_exactly():
    terraform_block = _blocks(_code("versions.tf"), "terraform")[""]
    assert _attr(terraform_block, "required_version"), "required_version is set"
    providers = _body(terraform_block, terraform_block.index("{", terraform_block.index("required_providers")))
    airbyte = _body(providers, providers.index("{", providers.index("airbyte")))
    assert json.loads(_attr(airbyte, "source")) == "airbytehq/airbyte"
    assert re.fullmatch(r"\d+\.\d+\.\d+", json.loads(_attr(airbyte, "version"))), "an exact version, no range"


# --- variables -----------------------------------------------------------------------------------


def test_every_variable_used_is_declared_and_every_declared_one_is_used():
    declared = set(_variables())
    used = set()
    for name in ("main.tf", "outputs.tf", "versions.tf"):
        used |= set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", _code(name)))
    assert used - declared == set(), f"used but not declared: {used - declared}"
    assert declared - used == set(), f"declared but never used: {declared - used}"


def test_validation_rules_only_look_at_their_own_variable():
    for name, body in _variables().items():
        assert set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", body)) <= {name}, name


def test_variables_have_a_type_and_a_french_description():
    french = re.compile(r"[éèêàçù]|\b(de|du|des|la|le|les|et|pour|par|sous)\b", re.I)
    for name, body in _variables().items():
        assert _attr(body, "type"), f"{name}: no type"
        description = _attr(body, "description")
        assert description and len(json.loads(description)) > 10, f"{name}: no description"
        assert french.search(json.loads(description)), f"{name}: description not in French"


def test_secrets_are_sensitive_and_have_no_default():
    variables = _variables()
    sensitive = {name for name, body in variables.items() if _attr(body, "sensitive") == "true"}
    assert SECRETS <= sensitive, f"not marked sensitive: {SECRETS - sensitive}"
    for name in sensitive:
        assert _attr(variables[name], "default") is None, f"{name}: a secret has no default"


def test_variable_defaults():
    variables = _variables()
    assert _default(variables["s3_bucket"]) == "lakehouse"
    assert _default(variables["s3_bucket_path"]) == "bronze"
    assert _default(variables["s3_region"]) == "us-east-1"
    assert _default(variables["start_year"]) == 2010
    assert _default(variables["countries"]) == ["BEN", "BFA", "CIV", "GNB", "MLI", "NER", "SEN", "TGO"]
    assert _default(variables["start_datetime"]) == "2023-01-01T00:00:00Z"
    assert _default(variables["page_size"]) == 1000
    cron = _default(variables["schedule_cron"]).split()
    assert cron[-1] == "UTC" and len(cron[:-1]) in (6, 7), "a Quartz cron (seconds first) with its UTC zone"
    assert cron[0] == "0" and cron[1].isdigit() and cron[2].isdigit() and cron[3:6] == ["*", "*", "?"], "once a day"
    for name in ("airbyte_server_url", "workspace_id", "bceao_api_url", "s3_endpoint"):
        assert _attr(variables[name], "default") is None, f"{name} must be given"


# --- resources -------------------------------------------------------------------------------


def test_source_definition_is_built_from_the_shared_manifest():
    code = _code("main.tf")
    assert 'yamldecode(file("${path.module}/../manifest.yaml"))' in code
    definition = _main_blocks()["airbyte_declarative_source_definition.bceao"]
    assert _attr(definition, "manifest") == "jsonencode(local.manifest)", "the API takes the manifest as JSON"
    assert _attr(definition, "workspace_id") == "var.workspace_id"


def test_source_uses_the_definition_and_takes_its_secret_from_a_variable():
    source = _main_blocks()["airbyte_source.bceao"]
    assert _attr(source, "definition_id") == "airbyte_declarative_source_definition.bceao.id"
    assert _attr(source, "configuration").startswith("jsonencode(")
    assert _attr(source, "api_key") == "var.bceao_api_key"
    assert _attr(source, "api_url") == "var.bceao_api_url"
    assert _attr(source, "start_year") == "var.start_year"


def test_destination_writes_snappy_parquet_under_bronze():
    destination = _main_blocks()["airbyte_destination.bronze"]
    assert _attr(destination, "configuration").startswith("jsonencode(")
    assert _attr(destination, "format_type") == '"Parquet"'
    assert _attr(destination, "compression_codec") == '"SNAPPY"'
    assert _attr(destination, "s3_bucket_name") == "var.s3_bucket"
    assert _attr(destination, "s3_bucket_path") == "var.s3_bucket_path"
    assert _default(_variables()["s3_bucket_path"]) == "bronze"
    assert _attr(destination, "s3_endpoint") == "var.s3_endpoint"
    assert _attr(destination, "s3_bucket_region") == "var.s3_region"
    assert _attr(destination, "access_key_id") == "var.s3_access_key_id"
    assert _attr(destination, "secret_access_key") == "var.s3_secret_access_key"
    assert _attr(destination, "s3_path_format") == "local.s3_path_format"
    locals_block = _blocks(_code("main.tf"), "locals")[""]
    # `$${` is Terraform's escape: Airbyte receives ${STREAM_NAME}...
    assert json.loads(_attr(locals_block, "s3_path_format")).replace("$${", "${") == S3_PATH_FORMAT


def test_connection_syncs_the_manifest_streams_incrementally_on_a_cron():
    code = _code("main.tf")
    locals_block = _blocks(code, "locals")[""]
    streams = _body(locals_block, locals_block.index("{", locals_block.index("streams")))
    # Derived from the manifest, never listed by hand (the manifest is checked against conf/streams.toml).
    assert "for stream in local.manifest.streams : stream.name =>" in streams
    assert "stream.incremental_sync.cursor_field" in streams
    assert not any(name in code for name in STREAMS), "a stream name is written in main.tf"

    connection = _main_blocks()["airbyte_connection.bceao_to_bronze"]
    assert _attr(connection, "source_id") == "airbyte_source.bceao.source_id"
    assert _attr(connection, "destination_id") == "airbyte_destination.bronze.destination_id"
    assert "for name, stream in local.streams" in connection
    assert _attr(connection, "sync_mode") == '"incremental_append"'
    assert _attr(connection, "primary_key") == "stream.primary_key"
    assert _attr(connection, "cursor_field") == "stream.cursor_field"
    assert _attr(connection, "schedule_type") == '"cron"'
    assert _attr(connection, "cron_expression") == "var.schedule_cron"
    assert _attr(connection, "prefix") == '""', "the stream name alone names the bronze/<flux>/ folder"


@needs_manifest
def test_streams_and_source_configuration_agree_with_the_manifest():
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    streams = {s["name"]: s for s in manifest["streams"]}
    assert set(STREAMS) <= set(streams), f"not in the manifest: {set(STREAMS) - set(streams)}"
    for name, (primary_key, cursor) in STREAMS.items():
        key = streams[name]["primary_key"]
        key = [[key]] if isinstance(key, str) else [k if isinstance(k, list) else [k] for k in key]
        assert key == primary_key, name
        assert [streams[name]["incremental_sync"]["cursor_field"]] == cursor, name

    spec = manifest["spec"]["connection_specification"]
    source = _main_blocks()["airbyte_source.bceao"]
    configuration = _body(source, source.index("{", source.index("jsonencode(")))
    keys = set(re.findall(r"^\s*(\w+)\s*=", configuration, re.M))
    assert keys <= set(spec["properties"]), f"not in the manifest's spec: {keys - set(spec['properties'])}"
    assert set(spec.get("required", [])) <= keys, "every required field of the spec is set"
    secrets = {k for k, p in spec["properties"].items() if p.get("airbyte_secret")}
    for key in secrets & keys:
        assert _attr(configuration, key) in {f"var.{s}" for s in SECRETS}, f"{key} comes from a sensitive variable"


def test_outputs_give_the_three_ids():
    outputs = _blocks(_code("outputs.tf"), "output")
    assert set(outputs) == {"source_id", "destination_id", "connection_id"}
    assert _attr(outputs["source_id"], "value") == "airbyte_source.bceao.source_id"
    assert _attr(outputs["destination_id"], "value") == "airbyte_destination.bronze.destination_id"
    assert _attr(outputs["connection_id"], "value") == "airbyte_connection.bceao_to_bronze.connection_id"


# --- example values and git ------------------------------------------------------------------------


def test_tfvars_example_sets_every_variable_with_placeholders():
    example = _tfvars_example()
    variables = _variables()
    required = {name for name, body in variables.items() if _attr(body, "default") is None}
    assert required <= set(example), f"missing from the example: {required - set(example)}"
    assert set(example) <= set(variables), f"unknown in the example: {set(example) - set(variables)}"
    assert set(example) == set(variables), "the example lists every variable"
    placeholder = re.compile(r'"(changez-moi|0{8}-0{4}-0{4}-0{4}-0{12})"')
    for name in SECRETS:
        assert placeholder.fullmatch(example[name]), f"{name}: placeholder only, never a real secret"


def test_gitignore_keeps_state_and_real_values_out_of_git():
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("git ou dépôt git absent")

    def ignored(name: str) -> bool:
        path = (TF_DIR / name).relative_to(ROOT)
        return subprocess.run([git, "check-ignore", "--no-index", "-q", str(path)], cwd=ROOT).returncode == 0

    for name in (
        "terraform.tfvars",
        "prod.tfvars",
        "terraform.tfstate",
        "terraform.tfstate.backup",
        ".terraform/providers/x",
        "secrets.auto.tfvars",
    ):
        assert ignored(name), f"{name} must be ignored"
    for name in ("terraform.tfvars.example", "main.tf", "variables.tf", "README.md"):
        assert not ignored(name), f"{name} must stay tracked"


# --- the terraform binary, without provider or network ----------------------------------------------


def _terraform_env() -> dict[str, str]:
    # No CLI configuration of the developer, no version check call, no prompt.
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": os.devnull,
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }


@needs_terraform
def test_terraform_fmt_check_passes():
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TF_DIR.relative_to(ROOT))],
        cwd=ROOT,
        env=_terraform_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # `fmt` skips *.tfvars.example; format it through stdin.
    example = TFVARS_EXAMPLE.read_text(encoding="utf-8")
    result = subprocess.run(
        [terraform, "fmt", "-"], input=example, env=_terraform_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == example, "terraform.tfvars.example is not formatted like `terraform fmt`"


REQUIRED_VARS = {
    "airbyte_server_url": "http://localhost:8000/api/public/v1/",
    "airbyte_client_id": "id",
    "airbyte_client_secret": "secret",
    "workspace_id": "11111111-2222-3333-4444-555555555555",
    "bceao_api_url": "http://127.0.0.1:8080",
    "bceao_api_key": "key",
    "s3_endpoint": "http://127.0.0.1:8333",
    "s3_access_key_id": "ak",
    "s3_secret_access_key": "sk",
}


@pytest.fixture(scope="module")
def provider_free_module(tmp_path_factory):
    """variables.tf and main.tf's locals in a module of their own (no provider), beside a copy of the manifest."""
    if terraform is None:
        pytest.skip("binaire terraform absent du PATH")
    if not MANIFEST.is_file():
        pytest.skip("ingestion/manifest.yaml absent")
    root = tmp_path_factory.mktemp("tf")
    module = root / "terraform"
    module.mkdir()
    shutil.copy(MANIFEST, root / "manifest.yaml")
    shutil.copy(TF_DIR / "variables.tf", module / "variables.tf")
    main = (TF_DIR / "main.tf").read_text(encoding="utf-8")
    (module / "locals.tf").write_text(re.search(r"^locals \{.*?^\}", main, re.S | re.M).group(0) + "\n")
    for command in (["init", "-backend=false", "-no-color"], ["validate", "-no-color"]):
        result = subprocess.run(
            [terraform, *command], cwd=module, env=_terraform_env(), capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return module


def _console(module: Path, expression: str, **overrides: str) -> subprocess.CompletedProcess:
    values = {**REQUIRED_VARS, **overrides}
    args = [arg for name, value in values.items() for arg in ("-var", f"{name}={value}")]
    return subprocess.run(
        [terraform, "console", "-no-color", *args],
        cwd=module,
        input=expression + "\n",
        env=_terraform_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_terraform_evaluates_the_manifest_and_the_locals_offline(provider_free_module):
    expression = (
        "jsonencode({path_format = local.s3_path_format, streams = local.streams, "
        "manifest_streams = [for s in local.manifest.streams : s.name], "
        "manifest_json = jsonencode(local.manifest), bucket_path = var.s3_bucket_path, "
        "bucket = var.s3_bucket, cron = var.schedule_cron})"
    )
    result = _console(provider_free_module, expression)
    assert result.returncode == 0 and "Error" not in result.stderr, result.stderr
    values = json.loads(json.loads(result.stdout.strip()))
    assert values["path_format"] == S3_PATH_FORMAT
    streams = {name: (stream["primary_key"], stream["cursor_field"]) for name, stream in values["streams"].items()}
    assert streams == STREAMS
    assert set(STREAMS) == set(values["manifest_streams"])
    # What the server receives is the YAML manifest itself, as JSON.
    assert json.loads(values["manifest_json"]) == yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert (values["bucket"], values["bucket_path"]) == ("lakehouse", "bronze")


@pytest.mark.parametrize(
    "name,value",
    [
        ("workspace_id", "mon-espace"),
        ("s3_bucket_path", "/bronze/"),
        ("schedule_cron", "0 2 * * *"),
        ("start_datetime", "2023-01-01"),
        ("countries", '["FRA"]'),
    ],
)
def test_terraform_rejects_invalid_values(provider_free_module, name, value):
    result = _console(provider_free_module, "var.s3_bucket", **{name: value})
    # `terraform console` reports the failed validation rule (plan and apply stop on it) but
    # still evaluates the expression and exits with 0: look at the diagnostics.
    assert "Invalid value for variable" in result.stderr, result.stderr
    assert f"var.{name}" in result.stderr
