"""The deployment files stay honest: compose validates with a real Compose implementation, the
systemd units with systemd-analyze, and every command, setting and file they name exists.

No container engine runs here, so the images are never built or started; see docs/deploy.md.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from postwizard.cli.main import app as cli_app
from postwizard.config import Settings
from tests.api_client import ApiClient
from tests.support.services import ci_is_on

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / "postwizard.env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PROCFILE = ROOT / "Procfile"
APP_JSON = ROOT / "app.json"
SYSTEMD_DIR = ROOT / "deploy" / "systemd"
FILES_NAMING_SETTINGS = [
    COMPOSE_FILE,
    ENV_EXAMPLE,
    DOCKERFILE,
    PROCFILE,
    APP_JSON,
    *sorted(SYSTEMD_DIR.glob("*.service")),
    ROOT / "docs" / "deploy.md",
    ROOT / "docs" / "operations.md",
]
SETTING_NAMES = {f"POSTWIZARD_{name.upper()}" for name in Settings.model_fields}


def missing_tool(reason: str) -> None:
    """Skip on a developer's machine; under CI a missing tool is a failure, never a skip."""
    if ci_is_on():
        pytest.fail(f"{reason}\n(CI is set: .ci/run installs it)", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------- compose


def compose_command() -> list[str]:
    """`docker compose` (the v2 plugin) when present, else the standalone `docker-compose`."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    missing_tool("no Compose implementation (docker compose plugin or docker-compose)")
    raise AssertionError("unreachable")


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """postwizard.env as a person makes it from the example: the required secrets filled in."""
    text = ENV_EXAMPLE.read_text()
    text = text.replace("POSTWIZARD_SECRET_KEY=\n", f"POSTWIZARD_SECRET_KEY={'k' * 64}\n")
    text = text.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=pw-for-the-test\n")
    text = text.replace(":PASSWORD@", ":pw-for-the-test@")
    path = tmp_path / "postwizard.env"
    path.write_text(text)
    return path


def compose_config(
    env_file: Path, *args: str, compose_file: Path = COMPOSE_FILE, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "--project-directory", str(ROOT), "-f", str(compose_file), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "PW_ENV_FILE": str(env_file), **env},
    )


def test_compose_config_validates_and_wires_the_scale_out(env_file: Path) -> None:
    result = compose_config(env_file, "config", PW_WEB_REPLICAS="3", PW_WORKER_REPLICAS="4")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"migrate", "web", "worker", "postgres", "redis", "proxy"} <= set(services)
    for name, service in services.items():  # the log pipeline only with --profile elk
        expected = ["elk"] if name in {"elasticsearch", "kibana", "filebeat"} else None
        assert service.get("profiles") == expected, name

    web, worker, migrate = services["web"], services["worker"], services["migrate"]
    assert web["command"] == ["postwizard", "serve"]
    assert worker["command"] == ["postwizard", "worker"]
    assert migrate["command"] == ["postwizard", "migrate"]
    assert web["deploy"]["replicas"] == 3
    assert worker["deploy"]["replicas"] == 4
    assert web["environment"]["POSTWIZARD_EMBEDDED_WORKER"] == "false"
    assert web["environment"]["FORWARDED_ALLOW_IPS"] == "*"  # uvicorn: trust the proxy
    assert "ports" not in web  # reached only through the proxy
    for service in (web, worker):
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        environment = service["environment"]
        # From the env file (secrets) and from compose itself (wiring).
        assert environment["POSTWIZARD_SECRET_KEY"] == "k" * 64
        assert environment["POSTWIZARD_DATABASE_URL"] == (
            "postgresql+asyncpg://postwizard:pw-for-the-test@postgres:5432/postwizard"
        )
        assert environment["POSTWIZARD_REDIS_URL"] == "redis://redis:6379/0"
        assert environment["POSTWIZARD_LOG_FORMAT"] == "json"
        mounts = {
            volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            for volume in service["volumes"]
        }
        assert {"data", "media"} <= mounts
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw-for-the-test"
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["redis"]
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    # The settings PostWizard gets are valid settings (the values pass its own validation).
    Settings(
        **{
            k.removeprefix("POSTWIZARD_").lower(): v
            for k, v in web["environment"].items()
            if k.startswith("POSTWIZARD_")
        }
    )


def test_compose_elk_profile_adds_the_log_pipeline(env_file: Path) -> None:
    result = compose_config(env_file, "--profile", "elk", "config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"elasticsearch", "kibana", "filebeat"} <= set(services)
    filebeat_mounts = " ".join(str(v) for v in services["filebeat"]["volumes"])
    assert "/var/lib/docker/containers" in filebeat_mounts
    filebeat_config = yaml.safe_load((ROOT / "deploy" / "elk" / "filebeat.yml").read_text())
    (template,) = filebeat_config["filebeat.autodiscover"]["providers"][0]["templates"]
    # Filebeat de-dots label names: postwizard.logs becomes postwizard_logs.
    label = template["condition"]["equals"]["docker.container.labels.postwizard_logs"]
    assert services["web"]["labels"]["postwizard.logs"] == label
    assert services["worker"]["labels"]["postwizard.logs"] == label


def test_compose_validation_rejects_a_broken_file(env_file: Path, tmp_path: Path) -> None:
    """The check has teeth: an unknown key or a wrongly typed value fails it."""
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace("    stop_grace_period:", "    stop_grace_perod:")
    )
    assert compose_config(env_file, "config", compose_file=broken).returncode != 0
    result = compose_config(env_file, "config", PW_WEB_REPLICAS="many")
    assert result.returncode != 0


def test_compose_refuses_to_start_without_the_env_file(tmp_path: Path) -> None:
    result = compose_config(tmp_path / "absent.env", "config")
    assert result.returncode != 0
    assert "absent.env" in result.stderr


@pytest.mark.parametrize("site_address", [":80", "social.example.com"])
def test_caddy_validates_the_proxy_configuration(site_address: str, tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        missing_tool("caddy is not installed (Debian package caddy)")
        return
    caddyfile = ROOT / "deploy" / "caddy" / "Caddyfile"

    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [caddy, "validate", "--adapter", "caddyfile", "--config", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "SITE_ADDRESS": site_address, "HOME": str(tmp_path)},
        )

    result = validate(caddyfile)
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "Caddyfile"
    broken.write_text(caddyfile.read_text().replace("dynamic a web", "dynamic aa web"))
    assert validate(broken).returncode != 0


# ---------------------------------------------------------------- settings named anywhere


@pytest.mark.parametrize("path", FILES_NAMING_SETTINGS, ids=lambda p: p.name)
def test_every_postwizard_variable_named_is_a_setting(path: Path) -> None:
    named = set(re.findall(r"\bPOSTWIZARD_[A-Z0-9_]+\b", path.read_text()))
    assert named, f"{path.name} names no setting"
    assert named <= SETTING_NAMES, f"not settings: {sorted(named - SETTING_NAMES)}"


# ---------------------------------------------------------------- CLI commands named anywhere


def parse_cli(arguments: list[str]) -> Any:
    """Parse `postwizard ARGS` exactly as the command would, without running it: an unknown
    command or option raises; the parsed context (`.params`) is returned."""
    group: Any = typer.main.get_command(cli_app)
    name, *rest = arguments
    command = group.get_command(None, name)
    assert command is not None, f"postwizard has no command {name!r}"
    return command.make_context(name, rest)


def procfile() -> dict[str, str]:
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, command = line.split(":", 1)
            entries[kind.strip()] = command.strip()
    return entries


def run_procfile_entry(command: str, tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run a Procfile command under bash (as the platforms do) with a stand-in `postwizard`
    that reports its arguments and the settings it was given."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    stand_in = bindir / "postwizard"
    stand_in.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        "print(json.dumps({'args': sys.argv[1:], 'env': {k: v for k, v in os.environ.items()"
        " if k.startswith('POSTWIZARD_')}}))\n"
    )
    stand_in.chmod(0o755)
    base = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        check=True,
        env={**base, **env},
        timeout=30,
    )
    reported: dict[str, Any] = json.loads(result.stdout)
    return reported


def test_procfile_runs_real_commands_with_the_platform_addons(tmp_path: Path) -> None:
    entries = procfile()
    assert set(entries) == {"web", "worker", "release"}
    platform_env = {
        "PORT": "5123",
        "DATABASE_URL": "postgres://u:p@db.internal:5432/d1",
        "REDIS_URL": "redis://cache.internal:6379",
    }
    expected = {"web": "serve", "worker": "worker", "release": "migrate"}
    for kind, command in entries.items():
        ran = run_procfile_entry(command, tmp_path, platform_env)
        assert ran["args"][0] == expected[kind]
        parse_cli(ran["args"])  # the options exist and parse
        assert (
            ran["env"]["POSTWIZARD_DATABASE_URL"] == "postgresql+asyncpg://u:p@db.internal:5432/d1"
        )
    web = run_procfile_entry(entries["web"], tmp_path, platform_env)
    context = parse_cli(web["args"])
    assert context.params["port"] == 5123
    assert context.params["host"] == "0.0.0.0"
    assert context.params["worker"] is False
    assert web["env"]["POSTWIZARD_REDIS_URL"] == "redis://cache.internal:6379"
    # A URL set explicitly wins over the add-on's.
    own = run_procfile_entry(
        entries["worker"],
        tmp_path,
        {**platform_env, "POSTWIZARD_DATABASE_URL": "postgresql+asyncpg://mine/db"},
    )
    assert own["env"]["POSTWIZARD_DATABASE_URL"] == "postgresql+asyncpg://mine/db"


def test_app_json_declares_every_setting_a_multi_process_deploy_needs() -> None:
    manifest = json.loads(APP_JSON.read_text())
    env = manifest["env"]
    assert set(env) <= SETTING_NAMES
    required = {name for name, spec in env.items() if spec.get("required")}
    # Shared by every process (secret, disk), reachable address, publishing in the worker type.
    assert {
        "POSTWIZARD_SECRET_KEY",
        "POSTWIZARD_PUBLIC_URL",
        "POSTWIZARD_DATA_DIR",
        "POSTWIZARD_EMBEDDED_WORKER",
    } <= required
    assert env["POSTWIZARD_SECRET_KEY"]["generator"] == "secret"
    assert env["POSTWIZARD_EMBEDDED_WORKER"]["value"] == "false"
    # Database and Redis come from add-ons, mapped by the Procfile.
    assert {"heroku-postgresql", "heroku-redis"} <= set(manifest["addons"])
    assert set(manifest["formation"]) == set(procfile()) - {"release"}
    values = {name: spec["value"] for name, spec in env.items() if "value" in spec}
    Settings(**{k.removeprefix("POSTWIZARD_").lower(): v for k, v in values.items()})


# ---------------------------------------------------------------- systemd


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit file, repeated keys kept."""
    section, entries = "", []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, value = line.split("=", 1)
        entries.append((section, key, value))
    return entries


UNITS = sorted(SYSTEMD_DIR.glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_unit_runs_postwizard_commands_unprivileged_and_hardened(unit: Path) -> None:
    entries = unit_entries(unit)
    service = {key: value for section, key, value in entries if section == "Service"}
    assert service["User"] == "postwizard"
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{unit.name}: {key}"
    commands = [
        value for section, key, value in entries if section == "Service" and key.startswith("Exec")
    ]
    assert commands
    for command in commands:
        program, *arguments = shlex.split(command)
        assert program == "/opt/postwizard/bin/postwizard"
        parse_cli(arguments)
    environment = dict(
        value.split("=", 1) for section, key, value in entries if key == "Environment"
    )
    Settings(**{k.removeprefix("POSTWIZARD_").lower(): v for k, v in environment.items()})


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing_tool("systemd-analyze is not installed (Debian package systemd)")
        return
    # The units as installed, with the program pointing at this checkout's `postwizard`
    # (verify checks that it exists) and no env file (it holds the secrets).
    installed = shutil.which("postwizard") or str(ROOT / ".venv" / "bin" / "postwizard")
    names = []
    for unit in UNITS:
        text = unit.read_text().replace("/opt/postwizard/bin/postwizard", installed)
        text = text.replace("EnvironmentFile=/", "EnvironmentFile=-/")
        name = unit.name.replace("@.service", "@1.service")
        (tmp_path / name).write_text(text)
        names.append(str(tmp_path / name))
    result = subprocess.run(
        [analyze, "verify", *names], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and unparsable values are only warnings there: none may name our units.
    complaints = [line for line in result.stderr.splitlines() if str(tmp_path) in line]
    assert not complaints, "\n".join(complaints)


# ---------------------------------------------------------------- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def dockerignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/")) or fnmatch.fnmatch(prefix, pattern)
        for pattern in patterns
        for prefix in prefixes
    )


def test_dockerfile_stages_copy_files_that_exist_and_run_postwizard_unprivileged() -> None:
    instructions = dockerfile_instructions()
    stages: list[str] = []
    final_user = final_cmd = healthcheck = None
    for keyword, rest in instructions:
        if keyword == "FROM":
            match = re.search(r"\bAS\s+(\S+)", rest, flags=re.IGNORECASE)
            assert match, f"unnamed stage: {rest}"
            stages.append(match.group(1))
            final_user = final_cmd = None
        elif keyword == "COPY":
            arguments = shlex.split(rest)
            options = [a for a in arguments if a.startswith("--")]
            sources = [a for a in arguments if not a.startswith("--")][:-1]
            from_stage = next(
                (o.split("=", 1)[1] for o in options if o.startswith("--from=")), None
            )
            if from_stage is not None:
                assert from_stage in stages[:-1], f"COPY --from={from_stage}: no earlier stage"
                continue
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"
        elif keyword == "RUN":
            syntax = subprocess.run(["sh", "-n", "-c", rest], capture_output=True, text=True)
            assert syntax.returncode == 0, f"RUN {rest}: {syntax.stderr}"
        elif keyword == "USER":
            final_user = rest
        elif keyword == "CMD":
            final_cmd = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            healthcheck = rest
    assert stages == ["frontend", "build", "runtime"]
    assert final_user is not None
    assert not final_user.startswith(("root", "0"))
    assert final_cmd == ["postwizard", "serve"]
    assert healthcheck is not None
    assert "/healthz" in healthcheck
    # The front-end stage's output is where svelte.config.js writes the build.
    svelte_config = (ROOT / "frontend" / "svelte.config.js").read_text()
    assert "pages: '../src/postwizard/web/dist'" in svelte_config
    assert "COPY --from=frontend /build/src/postwizard/web/dist/" in DOCKERFILE.read_text()
    # What must never reach the build context.
    for secret_or_bulk in (".env", "postwizard.env", "data", ".venv", "frontend/node_modules"):
        assert dockerignored(secret_or_bulk), secret_or_bulk


async def test_the_healthcheck_endpoint_answers(client: ApiClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
