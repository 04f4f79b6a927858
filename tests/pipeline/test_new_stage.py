"""Adding a stage is its own package, its place in the route and its compose service
(DESIGN.md, How to add a stage), shown with tests/plugins/akhbar_kashida: installed outside
the project (offline, as a separate package), named by nothing in the repository but its own
folder, this test and DESIGN.md; run through real Celery workers on a route that includes it;
and given a compose service by the block DESIGN.md gives."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from akhbar.queues import stage_queues
from akhbar.settings import Settings
from akhbar.stages import STAGE_APP, worker_module
from akhbar_testkit.compose import COMPOSE, PROD, load_compose, merge_compose, validate_compose
from akhbar_testkit.data import REPO as ROOT
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import RedisServer, Workers, wait_until

PLUGIN = ROOT / "tests" / "plugins" / "akhbar_kashida"
STAGE = "kashida"
ROUTE = ["normalize", STAGE, "enrich", "index"]
DESIGN = ROOT / "DESIGN.md"
TITLE = "افتتـــاح مستشفـى جديد في الرياض"  # with kashida, as justified text has it
BODY = "افتتحت وزارة الصحـــة اليوم مستشفى جديدا في مدينة الرياض يضم مئتي سرير."


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The stage package installed into a folder of its own (offline, from a copy: no build/
    left in the repository), visible to this process as to the workers given PYTHONPATH."""
    root = tmp_path_factory.mktemp("kashida")
    site, source = root / "site", Path(shutil.copytree(PLUGIN, root / PLUGIN.name))
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    assert worker_module(STAGE) is None  # not installed in the test environment itself
    sys.path.insert(0, str(site))
    try:
        yield site
    finally:
        sys.path.remove(str(site))


def test_the_installed_stage_runs_in_the_generic_worker(plugin_site: Path) -> None:
    assert worker_module(STAGE) == STAGE_APP


def test_an_article_passes_through_the_new_stage(plugin_site: Path, redis_server: RedisServer,
                                                 tmp_path: Path) -> None:
    """Real redis-server and `celery worker` processes: the new stage, on the route between
    normalize and enrich, changes the article and leaves its trace step; no stage list of the
    project names it."""
    redis_server.client.flushall()
    inbox, logs = tmp_path / "inbox", tmp_path / "logs"
    logs.mkdir()
    with ElasticsearchDouble() as es:
        env = {**os.environ, "AKHBAR_REDIS_URL": redis_server.url, "AKHBAR_ES_URL": es.url,
               "AKHBAR_INBOX": str(inbox), "AKHBAR_INBOX_STABLE_SECONDS": "0.3",
               "AKHBAR_BULK_FLUSH_S": "0.3", "AKHBAR_ROUTE": ",".join(ROUTE),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(plugin_site),
                                                           os.environ.get("PYTHONPATH")]))}
        stages = stage_queues(Settings(route=ROUTE))
        assert stages == ["ingest", *ROUTE]
        workers = Workers(env, logs)
        try:
            workers.start_pipeline(stages, inbox)
            (inbox / ".a.txt.part").write_text(f"{TITLE}\n{BODY}\n", encoding="utf-8")
            (inbox / ".a.txt.part").rename(inbox / "a.txt")
            try:
                wait_until(lambda: es.docs, 120, "the document indexed")
            except AssertionError:
                raise AssertionError(workers.logs()) from None
        finally:
            workers.stop()
    [doc] = es.docs.values()
    assert [s["stage"] for s in doc["pipeline"]] == stages
    assert doc["title"] == "افتتاح مستشفى جديد في الرياض"
    assert doc["body"] == "افتتحت وزارة الصحة اليوم مستشفى جديدا في مدينة الرياض يضم مئتي سرير."
    assert doc["language"] == "ar" and doc["story_id"]  # enrich ran after it
    assert "\u0640" not in doc["normalized"]["title"] + doc["normalized"]["body"]
    assert not any(redis_server.client.llen(f"akhbar:dlq:{s}") for s in stages)
    redis_server.client.flushall()


def _design_compose_blocks() -> list[str]:
    """The YAML blocks of DESIGN.md's How to add a stage, for the new stage."""
    section = DESIGN.read_text(encoding="utf-8").split("\n## How to add a stage\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return [textwrap.dedent(block).replace("translate", STAGE)
            for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)]


def _with_service(path: Path, block: str, out: Path) -> Path:
    """The compose file at `path` with `block` added first under `services:`."""
    text = path.read_text(encoding="utf-8")
    assert text.count("\nservices:\n") == 1, path
    out.write_text(text.replace("\nservices:\n", "\nservices:\n" + textwrap.indent(block, "  "),
                                1), encoding="utf-8")
    return out


def test_the_documented_compose_blocks_make_a_stage_service(check_jsonschema: str,
                                                            tmp_path: Path) -> None:
    """DESIGN.md's compose service and its production Redis password (a line each),
    named for the new stage and added under `services:`, make a valid service in the
    development and the production stack: the stage worker block, building the stage's image
    from the one Dockerfile, exactly as normalize's."""
    dev_block, prod_block = _design_compose_blocks()
    assert [len(b.strip().splitlines()) for b in (dev_block, prod_block)] == [1, 1]
    dev = _with_service(COMPOSE, dev_block, tmp_path / "docker-compose.yml")
    prod = _with_service(PROD, prod_block, tmp_path / "docker-compose.prod.yml")
    result = validate_compose(check_jsonschema, dev)
    assert result.returncode == 0, result.stdout + result.stderr
    stacks = {"dev": load_compose(dev)["services"],
              "prod": merge_compose(load_compose(dev), load_compose(prod))["services"]}
    for stack, services in stacks.items():
        new, normalize = services[STAGE], services["normalize"]
        assert new["build"] == {"context": ".", "args": {"STAGE": STAGE}}, stack
        assert {k: v for k, v in new.items() if k != "build"} == \
            {k: v for k, v in normalize.items() if k != "build"}, stack
    before = merge_compose(load_compose(COMPOSE), load_compose(PROD))["services"]
    assert set(stacks["prod"]) - set(before) == {STAGE}


def test_nothing_else_in_the_repository_names_the_new_stage() -> None:
    """Every list of stages is derived from the route: only the stage's own folder, this test
    and DESIGN.md (which names it as the example) mention it."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    if files.returncode != 0:
        pytest.skip(f"not a git checkout: {files.stderr.strip()}")
    naming = {f for f in files.stdout.splitlines()
              if (ROOT / f).is_file() and STAGE in (ROOT / f).read_text(errors="replace")}
    inside = {f for f in naming if f.startswith("tests/plugins/akhbar_kashida/")}
    assert inside and naming - inside == {"tests/pipeline/test_new_stage.py", "DESIGN.md"}, naming


@pytest.mark.parametrize(("queue", "why"), [
    (STAGE, "stage 'kashida' is not installed"),  # not in this environment (no PYTHONPATH)
    ("index", "has a worker of its own (akhbar_index.tasks)"),
])
def test_the_generic_worker_refuses_a_stage_it_cannot_run(queue: str, why: str) -> None:
    """Refused before the worker connects or consumes anything: a stage without a package would
    dead-letter every job, and index run without its batching would write nothing."""
    result = subprocess.run([sys.executable, "-m", "celery", "-A", STAGE_APP, "worker", "-Q",
                             queue, "--pool", "solo"], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "AKHBAR_REDIS_URL":
                                              "redis://127.0.0.1:1/0"})
    assert result.returncode != 0, result.stdout + result.stderr
    assert why in result.stderr, result.stderr


def test_akhbar_worker_refuses_a_stage_off_the_route() -> None:
    result = subprocess.run([sys.executable, "-m", "akhbar", "worker", STAGE],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no stage 'kashida' on the route" in result.stderr, \
        result.stderr
