"""The Compose files read and merged as `docker compose -f base -f override…` does (no Docker
engine), and the tools the deployment checks run, for tests/deploy."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from akhbar_testkit.data import REPO

COMPOSE = REPO / "docker-compose.yml"
PROD = REPO / "docker-compose.prod.yml"
CLUSTER = REPO / "docker-compose.cluster.yml"
# The in-repo stages: each folder of services/ is one (ingest and the default route).
STAGES = tuple(sorted(p.parent.name for p in REPO.glob("services/*/pyproject.toml")))


def find_executable(name: str) -> str | None:
    """`name` next to the running interpreter (same venv) first, else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def validate_compose(exe: str, path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema (`exe`) on a compose file, against the Compose specification."""
    return subprocess.run([exe, "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=120)


def command_argv(command: str | list[Any]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def load_compose(path: Path) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse the compose files")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))  # resolves anchors and << merges
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


# Keys whose value an override replaces whole; other mappings are merged key by key.
REPLACED_KEYS = {"command", "entrypoint", "test"}


def _merge_value(key: str, base: object, override: object) -> object:
    if key == "volumes" and isinstance(base, list) and isinstance(override, list):
        # Service volumes are merged by their mount point in the container.
        by_target = {mount_of(v)[1]: v for v in base}
        by_target.update({mount_of(v)[1]: v for v in override})
        return list(by_target.values())
    if isinstance(base, dict) and isinstance(override, dict) and key not in REPLACED_KEYS:
        return {**base, **{k: _merge_value(k, base.get(k), v) for k, v in override.items()}}
    return override


def merge_compose(base: dict[str, Any], *overrides: dict[str, Any]) -> dict[str, Any]:
    """Compose files merged as `docker compose -f base -f override…` does for the keys this
    project uses: mappings (services, environment, depends_on, healthcheck, networks, top-level
    volumes) key by key, service volumes by mount point, command/entrypoint/healthcheck.test and
    other sequences replaced."""
    merged: object = base
    for override in overrides:
        merged = _merge_value("", merged, override)
    assert isinstance(merged, dict)
    return merged


def mount_of(volume: object) -> tuple[str, str, set[str]]:
    """(source, target, options) of a short-syntax volume `source:target[:options]`."""
    assert isinstance(volume, str), f"use the short volume syntax: {volume!r}"
    source, _, rest = volume.partition(":")
    target, _, options = rest.partition(":")
    return source, target, set(filter(None, options.split(",")))
