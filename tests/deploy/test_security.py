"""Offline checks of the security properties listed in SECURITY.md (no Docker, no network).

* messages between stages are JSON only;
* no shell, eval/exec, pickle/marshal or unsafe YAML in the project's code;
* container hardening in docker-compose.yml (non-root, read-only, no-new-privileges, cap_drop);
* the production override docker-compose.prod.yml: schema-valid, Redis requirepass and the
  password in every Redis client's URL, Elasticsearch/Kibana security with credentials from .env
  only, Flower basic auth, nothing secret committed;
* every AKHBAR_* limit is bounded in the settings and documented in .env.example;
* inbox reads stay bounded when a file grows after its size was checked;
* the SSRF guard refuses non-public addresses and non-http(s) schemes.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

from akhbar_testkit import compose as dc
from akhbar_testkit.data import REPO as ROOT

ENV_EXAMPLE = ROOT / ".env.example"
OUR_SERVICES = (*dc.STAGES, "watcher", "beat", "setup")
REDIS_CLIENTS = (*dc.STAGES, "watcher", "beat")  # setup talks to Elasticsearch and Kibana only
WRITERS = ("index", "embed")  # the workers that write documents, as user akhbar
PROD_SECRETS = ("REDIS_PASSWORD", "ELASTIC_PASSWORD", "KIBANA_SYSTEM_PASSWORD",
                "AKHBAR_ES_WRITER_PASSWORD", "FLOWER_PASSWORD")
REQUIRED = re.compile(r"^\$\{(?P<var>[A-Z][A-Z0-9_]*):\?[^}]*\}$")


@pytest.fixture(scope="module")
def base() -> dict:
    return dc.load_compose(dc.COMPOSE)["services"]


@pytest.fixture(scope="module")
def prod() -> dict:
    return dc.load_compose(dc.PROD)["services"]


@pytest.fixture(scope="module")
def merged() -> dict:
    return dc.merge_compose(dc.load_compose(dc.COMPOSE), dc.load_compose(dc.PROD))["services"]


# --------------------------------------------------------------------------- 1. JSON only


def test_stage_messages_are_json_only() -> None:
    from akhbar.queues import make_app
    from akhbar.settings import Settings

    conf = make_app("security-test", Settings(redis_url="redis://localhost:1/0")).conf
    assert list(conf.accept_content) == ["json"]
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"


# --------------------------------------------------------------------------- 2. no shell/eval

UNSAFE_MODULES = {"subprocess", "pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle",
                  "joblib"}
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__"}
UNSAFE_ATTRS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"),
                ("os", "spawnv"), ("yaml", "load"), ("yaml", "unsafe_load"),
                ("yaml", "full_load"), ("yaml", "load_all")}


def _project_sources() -> list[Path]:
    roots = [ROOT / "shared", ROOT / "services"]
    return sorted(p for r in roots for p in r.rglob("*.py")
                  if ".venv" not in p.parts and "build" not in p.parts)


def _qualified(node: ast.expr, imported: dict[str, str]) -> str | None:
    """The dotted name a call target stands for, through the file's imports: `o.system` after
    `import os as o` and `system` after `from os import system` are both `os.system`."""
    if isinstance(node, ast.Name):
        return imported.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        owner = _qualified(node.value, imported)
        return None if owner is None else f"{owner}.{node.attr}"
    return None


def _unsafe_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported: dict[str, str] = {}  # local name -> what it was imported as
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update({a.asname: a.name for a in node.names if a.asname})
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {a.name}" for a in node.names
                      if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in UNSAFE_MODULES:
                found.append(f"{where} from {node.module} import")
        elif isinstance(node, ast.Call):
            called = _qualified(node.func, imported)
            if called in UNSAFE_CALLS:
                found.append(f"{where} {called}()")
            if called and tuple(called.rsplit(".", 1)) in UNSAFE_ATTRS:
                found.append(f"{where} {called}()")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant)
                                              and kw.value.value is False):
                    found.append(f"{where} shell=")
    return found


# `akhbar run` starts its own fixed commands (argument lists, never a shell), and `akhbar
# worker` replaces itself with one (os.execv): the one module allowed to import subprocess and
# to exec. A shell= argument is still refused there.
SUBPROCESS_ALLOWED = {ROOT / "shared" / "akhbar" / "run.py"}


def test_no_shell_eval_pickle_or_unsafe_yaml_in_project_code() -> None:
    sources = _project_sources()
    assert len(sources) > 20, sources
    found = [u for p in sources for u in _unsafe_uses(p)
             if not (p in SUBPROCESS_ALLOWED and u.endswith((" import subprocess",
                                                             " os.execv()")))]
    assert not found, "unsafe constructs:\n" + "\n".join(found)


def test_unsafe_scan_detects_what_it_looks_for(tmp_path: Path) -> None:
    """Negative control for the scan above."""
    probe = tmp_path / "probe.py"
    probe.write_text("import pickle, subprocess\nimport os, yaml\nos.system('x')\neval('1')\n"
                     "yaml.load('a')\nsubprocess.run('x', shell=True)\n"
                     "import os as o\nfrom os import popen\nfrom yaml import unsafe_load as ul\n"
                     "o.execv('x', [])\npopen('x')\nul('a')\n", encoding="utf-8")
    text = "\n".join(_unsafe_uses(probe))
    for needle in ("import pickle", "import subprocess", "os.system()", "eval()", "yaml.load()",
                   "shell=", "probe.py:10 os.execv()", "probe.py:11 os.popen()",
                   "probe.py:12 yaml.unsafe_load()"):
        assert needle in text, text


def test_yaml_and_xml_are_read_safely() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in _project_sources())
    assert "yaml.safe_load(" in sources
    rss = (ROOT / "services/ingest/akhbar_ingest/sources/rss.py").read_text(encoding="utf-8")
    assert "forbid_entities=True" in rss and "forbid_external=True" in rss


# --------------------------------------------------------------------------- 3. containers


INIT_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"]  # the one-shot folder setup only


def test_every_container_drops_privileges() -> None:
    """Every container of each stack the README starts: the base file alone, with the
    production override and with the cluster override. Compose appends an override's cap_add
    and security_opt to the base file's (a merged view that replaces them can hide one), so
    what each override sets is checked on its own too."""
    base = dc.load_compose(dc.COMPOSE)
    stacks = {"docker-compose.yml": base["services"],
              "with the prod override":
                  dc.merge_compose(base, dc.load_compose(dc.PROD))["services"],
              "with the cluster override":
                  dc.merge_compose(base, dc.load_compose(dc.CLUSTER))["services"]}
    for stack, services in stacks.items():
        missing = {*OUR_SERVICES, "init", "redis", "flower", "elasticsearch", "kibana"} - set(
            services)
        assert not missing, f"{stack}: {missing}"
        for name, svc in services.items():
            where = f"{stack}: {name}"
            assert "no-new-privileges:true" in svc.get("security_opt", []), where
            assert svc.get("cap_drop") == ["ALL"], f"{where}: cap_drop ALL"
            assert sorted(svc.get("cap_add", [])) == (INIT_CAPS if name == "init" else []), \
                f"{where}: cap_add {svc.get('cap_add')}"
            assert not svc.get("privileged"), f"{where}: privileged"
            assert svc.get("network_mode") != "host", f"{where}: host network"
    for path in (dc.PROD, dc.CLUSTER):
        for name, svc in dc.load_compose(path)["services"].items():
            where = f"{path.name}: {name}"
            assert set(svc.get("cap_add", [])) <= set(INIT_CAPS if name == "init" else []), \
                f"{where}: cap_add {svc.get('cap_add')}"
            assert svc.get("cap_drop", ["ALL"]) == ["ALL"], f"{where}: cap_drop"


def test_read_only_root_filesystems(base: dict) -> None:
    for name in (*OUR_SERVICES, "init", "redis", "flower"):
        assert base[name].get("read_only") is True, f"{name}: read_only"
    for name in (*OUR_SERVICES, "flower"):
        assert "/tmp" in base[name].get("tmpfs", []), f"{name}: /tmp tmpfs"
    # Redis writes only to its volume.
    assert any(str(v).endswith(":/data") for v in base["redis"]["volumes"])


def test_redis_runs_as_its_own_user(base: dict) -> None:
    assert base["redis"].get("user") == "999:999"


def test_no_docker_socket_or_host_paths_mounted(base: dict) -> None:
    allowed = {"./inbox", "./config", "./infra/redis/redis.conf"}
    for name, svc in base.items():
        for vol in svc.get("volumes", []):
            src = str(vol).split(":", 1)[0]
            assert "docker.sock" not in str(vol), name
            if src.startswith((".", "/")):
                assert src in allowed, f"{name}: bind mount {vol!r}"


# --------------------------------------------------------------------------- 4./5. prod override


def test_prod_override_matches_compose_spec() -> None:
    exe = dc.find_executable("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    result = subprocess.run([exe, "--builtin-schema", "vendor.compose-spec", str(dc.PROD)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dev_stack_has_no_passwords(base: dict) -> None:
    """`docker compose up -d` alone stays the password-free development stack."""
    argv = dc.command_argv(base["redis"]["command"])
    assert "--requirepass" not in argv
    for name in OUR_SERVICES:
        assert base[name]["environment"]["AKHBAR_REDIS_URL"] == "redis://redis:6379/0", name
    conf = (ROOT / "infra/redis/redis.conf").read_text(encoding="utf-8")
    assert not re.search(r"^\s*requirepass\b", conf, flags=re.MULTILINE)


def test_prod_redis_requires_the_password_from_env(merged: dict) -> None:
    argv = dc.command_argv(merged["redis"]["command"])
    assert argv[:2] == ["redis-server", "/usr/local/etc/redis/redis.conf"], argv
    value = argv[argv.index("--requirepass") + 1]
    assert REQUIRED.match(value) and REQUIRED.match(value)["var"] == "REDIS_PASSWORD", value
    assert "ports" not in merged["redis"]
    health = " ".join(dc.command_argv(merged["redis"]["healthcheck"]["test"]))
    assert "redis-cli ping" in health and "PONG" in health
    assert merged["redis"]["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")


def test_prod_every_redis_client_uses_the_password(merged: dict) -> None:
    for name in REDIS_CLIENTS:
        url = merged[name]["environment"]["AKHBAR_REDIS_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD:?") and url.endswith("@redis:6379/0"), \
            f"{name}: {url}"
    flower = merged["flower"]
    assert not any("--broker" in a for a in dc.command_argv(flower["command"])), "password in argv"
    assert flower["environment"]["CELERY_BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    assert "${FLOWER_PASSWORD:?" in flower["environment"]["FLOWER_BASIC_AUTH"]


def test_prod_elasticsearch_and_kibana_security(merged: dict) -> None:
    es = merged["elasticsearch"]["environment"]
    assert es["xpack.security.enabled"] == "true"
    assert REQUIRED.match(es["ELASTIC_PASSWORD"])["var"] == "ELASTIC_PASSWORD"
    kibana = merged["kibana"]
    assert kibana["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert REQUIRED.match(kibana["environment"]["ELASTICSEARCH_PASSWORD"])["var"] == \
        "KIBANA_SYSTEM_PASSWORD"
    assert kibana["depends_on"]["es-security"]["condition"] == "service_completed_successfully"
    assert "401" in " ".join(dc.command_argv(kibana["healthcheck"]["test"]))
    sec = merged["es-security"]
    assert sec["image"] == merged["elasticsearch"]["image"]
    assert sec["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert sec.get("restart") == "no" and sec.get("cap_drop") == ["ALL"]
    script = sec["volumes"][0].split(":")[0]
    assert (ROOT / script).is_file(), script
    # Least privilege: the index and embed workers are `akhbar`, setup is `elastic`, the others
    # get nothing.
    for writer in WRITERS:
        env = merged[writer]["environment"]
        assert env["AKHBAR_ES_USER"] == "akhbar"
        assert REQUIRED.match(env["AKHBAR_ES_PASSWORD"])["var"] == "AKHBAR_ES_WRITER_PASSWORD"
        assert merged[writer]["depends_on"]["es-security"]["condition"] == \
            "service_completed_successfully"
    setup = merged["setup"]["environment"]
    assert setup["AKHBAR_ES_USER"] == "elastic"
    assert REQUIRED.match(setup["AKHBAR_ES_PASSWORD"])["var"] == "ELASTIC_PASSWORD"
    for name in set(REDIS_CLIENTS) - set(WRITERS):  # only they write documents
        assert not merged[name]["environment"].get("AKHBAR_ES_PASSWORD"), name


def test_security_setup_script() -> None:
    text = (ROOT / "infra/elasticsearch/security-setup.sh").read_text(encoding="utf-8")
    assert "/_security/user/kibana_system/_password" in text
    assert "/_security/role/akhbar_writer" in text and "/_security/user/akhbar" in text
    assert '"akhbar-articles*"' in text
    assert not re.search(r'"(all|superuser)"', text), "the writer role must stay narrow"
    result = subprocess.run(["sh", "-n", str(ROOT / "infra/elasticsearch/security-setup.sh")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_security_setup_script_refuses_weak_or_unsafe_passwords(tmp_path: Path) -> None:
    script = ROOT / "infra/elasticsearch/security-setup.sh"
    good = "a" * 12
    for env, reason in (({"ELASTIC_PASSWORD": ""}, "not set"),
                        ({"ELASTIC_PASSWORD": 'pa"ss word 123'}, "may only hold"),
                        ({"KIBANA_SYSTEM_PASSWORD": "short"}, "at least 12")):
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ELASTIC_PASSWORD": good,
                "KIBANA_SYSTEM_PASSWORD": good, "AKHBAR_ES_WRITER_PASSWORD": good, **env}
        result = subprocess.run(["sh", str(script)], env=full, capture_output=True, text=True,
                                timeout=30, cwd=tmp_path)
        assert result.returncode != 0 and reason in result.stderr, result.stderr


def test_no_secret_values_in_compose_files(base: dict, prod: dict) -> None:
    """Every password-like value is a ${VAR} from .env (required in the override), never a
    literal."""
    for services, required in ((base, False), (prod, True)):
        for name, svc in services.items():
            for key, value in (svc.get("environment") or {}).items():
                if not (re.search("PASSWORD|SECRET|TOKEN|AUTH", key) and value):
                    continue
                literal = re.sub(r"\$\{[^}]*\}", "", str(value))
                assert literal in ("", ":", "redis://:@redis:6379/0"), f"{name}: {key}={value!r}"
                if required:
                    assert ":?" in str(value), f"{name}: {key} must be required"
    for text in (dc.COMPOSE.read_text("utf-8"), dc.PROD.read_text("utf-8")):
        assert not re.search(r"redis://:[^$@\s]+@", text), "a literal Redis password"
        assert "change-me" not in text and "changeme" not in text


def test_env_example_documents_prod_secrets_empty() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    values = dict(line.split("=", 1) for line in text.splitlines()
                  if "=" in line and not line.startswith("#"))
    for var in PROD_SECRETS:
        assert values.get(var) == "", f".env.example must document {var} with an empty value"
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", dc.PROD.read_text("utf-8")))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    assert used <= documented, f"undocumented: {sorted(used - documented)}"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored
    assert not (ROOT / ".env").exists() or ".env" in ignored


# --------------------------------------------------------------------------- 6. limits

LIMIT_FIELDS = ("max_file_bytes", "max_article_chars", "max_title_chars", "fetch_max_bytes",
                "fetch_max_redirects", "fetch_max_items", "jobs_per_message", "bulk_size",
                "bulk_max_bytes", "max_deliveries", "retry_max", "task_time_limit_s",
                "fetch_connect_timeout_s", "fetch_read_timeout_s", "fetch_retries",
                "fetch_retry_after_max_s", "fetch_host_concurrency", "es_request_timeout_s",
                "queue_max_messages", "story_state_ttl_s")


@pytest.mark.parametrize("field", LIMIT_FIELDS)
def test_limits_are_bounded_and_documented(field: str) -> None:
    from pydantic import ValidationError

    from akhbar.settings import Settings

    info = Settings.model_fields[field]
    assert info.default is not None and info.default > 0 or field in ("retry_max",
                                                                      "fetch_retries"), field
    with pytest.raises(ValidationError):
        Settings(**{field: -1})
    var = f"AKHBAR_{field.upper()}"
    assert re.search(rf"^#?\s*{var}=", ENV_EXAMPLE.read_text("utf-8"), flags=re.MULTILINE), var


def test_inbox_read_is_bounded_even_if_the_file_grows(tmp_path: Path) -> None:
    """The size check before reading can be outrun by a writer still appending: the read itself
    is bounded. A /proc file stands in (st_size 0, content longer than the limit)."""
    from akhbar_ingest.formats import FileRejected, parse_file

    source = Path("/proc/self/maps")
    if not source.exists() or source.stat().st_size != 0:
        pytest.skip("needs Linux /proc")
    link = tmp_path / "growing.txt"
    link.symlink_to(source)
    with pytest.raises(FileRejected, match="AKHBAR_MAX_FILE_BYTES"):
        parse_file(link, max_bytes=16)


def test_message_job_count_is_capped_on_receipt() -> None:
    from akhbar.contract import ContractError
    from akhbar.queues import MAX_JOBS_PER_MESSAGE, unpack

    job = {"job_id": "x"}
    assert unpack({"schema_version": 1, "jobs": [job] * MAX_JOBS_PER_MESSAGE})
    with pytest.raises(ContractError, match="jobs"):
        unpack({"schema_version": 1, "jobs": [job] * (MAX_JOBS_PER_MESSAGE + 1)})


# --------------------------------------------------------------------------- 8. SSRF guard


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://10.0.0.1/", "http://192.168.1.1/", "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "http://100.64.0.1/", "http://[fd00::1]/", "http://224.0.0.1/",
])
def test_private_addresses_are_refused(url: str) -> None:
    from akhbar_ingest.sources.fetch import Refused, check_address

    with pytest.raises(Refused):
        check_address(url, allow_private=False)
    check_address(url, allow_private=True)  # an explicit per-feed opt-in


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "ftp://example.com/",
                                 "http:///nohost"])
def test_only_http_urls_with_a_host_are_fetched(url: str) -> None:
    from akhbar_ingest.sources.fetch import Refused, check_address

    with pytest.raises(Refused):
        check_address(url, allow_private=True)


def test_es_credentials_in_env_reach_no_container(merged: dict) -> None:
    """Compose reads .env only to fill in the files' ${...} references: AKHBAR_ES_USER and
    AKHBAR_ES_PASSWORD set there reach a container only if a file passes them through. None
    does (no env_file, not in the shared environment block), and only index and setup get
    credentials, written in the override; the override's comment says so."""
    shared_env = dc.load_compose(dc.COMPOSE)["x-akhbar-env"]
    for var in ("AKHBAR_ES_USER", "AKHBAR_ES_PASSWORD"):
        assert var not in shared_env, var
        for path in (dc.COMPOSE, dc.PROD):
            assert "${" + var not in path.read_text(encoding="utf-8"), f"{path.name}: {var}"
    for name, svc in merged.items():
        assert "env_file" not in svc, name
        if "AKHBAR_ES_USER" in (svc.get("environment") or {}):
            assert name in (*WRITERS, "setup"), name
    header = dc.PROD.read_text(encoding="utf-8").split("\nx-prod-redis-env")[0]
    assert "AKHBAR_ES_USER / AKHBAR_ES_PASSWORD in .env reach no container" in header
