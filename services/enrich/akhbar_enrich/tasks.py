"""Celery glue for enrich (`celery -A akhbar_enrich.tasks worker -Q enrich`)."""

from akhbar.queues import make_app
from akhbar.worker import register_stage

app = make_app("akhbar_enrich")
register_stage(app, "enrich")
