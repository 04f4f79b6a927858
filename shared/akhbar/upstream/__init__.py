"""The one place that relies on private or undocumented internals of kombu, Celery and
celery-batches, each to work around an upstream behaviour that loses or strands messages.

- `kombu_redis`: kombu's Redis transport fetches with BRPOP, which loses a message whose reply
  is cut off by a Redis shutdown (found by bench/faults.py); the channel's fetch methods are
  replaced by an atomic BLMOVE into a per-worker fetch list, with a gate asked before each fetch.
  Also kombu's unacknowledged hash, read and restored per message (`restore_unacked`).
- `celery_worker`: consumer steps reach the consumer's channel (`c.task_consumer.channel`) to put
  back what a dead or disconnected worker held, and to gate fetching (backpressure, the index
  worker's Elasticsearch pause); the steps are added at `celeryd_init`.
- `batches`: celery-batches keeps a dead flush timer after a reconnect and acknowledges a batch
  whose function raised; `ReliableBatches` fixes both.

Each was written for the versions pinned in constraints.txt: importing a module of this
package with other versions installed fails (`require`), and tests/shared/test_upstream.py
fails when the behaviour relied on changes.
"""

from __future__ import annotations

from importlib.metadata import version

# Written for these versions (constraints.txt); a new one means reviewing every module here.
PINNED = {"kombu": "5.7.0", "celery": "5.6.3", "celery-batches": "0.11"}


def require(*packages: str) -> None:
    """Refuse to run with other versions of `packages` than those in PINNED."""
    for name in packages:
        found = version(name)
        if found != PINNED[name]:
            raise ImportError(
                f"akhbar.upstream relies on internals of {name}=={PINNED[name]} but {name} "
                f"{found} is installed: check the workarounds in akhbar/upstream/ against the "
                "new version (tests/shared/test_upstream.py), then update PINNED and "
                "constraints.txt")


require("kombu", "celery")
