"""Celery glue for the tripwire stage (`celery -A akhbar_tripwire.tasks worker -Q tripwire`)."""

from akhbar.queues import make_app
from akhbar.worker import register_stage

app = make_app("akhbar_tripwire")
register_stage(app, "tripwire")
