"""Celery glue for normalize (`celery -A akhbar_normalize.tasks worker -Q normalize`)."""

from akhbar.queues import make_app
from akhbar.worker import register_stage

app = make_app("akhbar_normalize")
register_stage(app, "normalize")
