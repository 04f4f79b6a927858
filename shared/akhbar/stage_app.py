"""The Celery app of every stage with no glue of its own:
`celery -A akhbar.stage_app worker -Q <stage>` runs the stage named by its queue (`-Q`), found
through the `akhbar.stages` entry points, with akhbar.worker.register_stage.

Importing this module reads no settings: Celery asks for its `app` when the worker starts (`-A`
looks the attribute up), and the stage task is registered from the worker's own options before
the worker sets itself up (`celeryd_init`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Celery, signals

from akhbar.queues import app_on_lookup, make_app
from akhbar.stages import STAGE_APP, worker_module
from akhbar.worker import register_stage


@cache
def stage_app() -> Celery:
    return make_app(STAGE_APP)


__getattr__ = app_on_lookup(__name__, stage_app)


@signals.celeryd_init.connect  # type: ignore[untyped-decorator]
def _register_stages(sender: str, instance: Any, options: dict[str, Any], **_: Any) -> None:
    if instance.app is not stage_app():
        return
    stages = options.get("queues") or []
    # Celery logs and ignores an Exception raised by a signal handler: SystemExit stops it.
    if not stages:
        raise SystemExit(f"{STAGE_APP}: name the stage to run with -Q STAGE")
    for stage in stages:
        if worker_module(stage) != STAGE_APP:
            raise SystemExit(f"{STAGE_APP}: stage {stage!r} is not installed, or has a worker "
                             f"of its own ({worker_module(stage)})")
        register_stage(instance.app, stage)
