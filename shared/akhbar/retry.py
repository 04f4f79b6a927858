"""When a failure is worth trying again, and how long to wait: one rule for every stage.

`TRANSIENT_STATUS` are the HTTP answers of a server that is overloaded, slow or briefly away
(408 Request Timeout, 429 Too Many Requests, 500, 502, 503, 504), whoever answers: a feed or page
server (ingest's fetcher retries them), Elasticsearch or Kibana (the index worker pauses, setup
tries again) — and the `akhbar` command exits 3 ("unreachable or failing") on them. Any other
status is an answer about the request, which waiting does not change.
"""

from __future__ import annotations

import random

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def backoff(attempt: int, base: float, cap: float, *, jitter: bool = False) -> float:
    """The wait after failed attempt `attempt` (0: the first): base·2^attempt, capped at `cap`.

    With `jitter`, uniform in [0, that] ("full jitter"): many jobs failing together (a service
    down) come back spread out, not in synchronized waves. Without it, the wait of one caller
    that keeps asking one service (a fetch, a probe)."""
    wait = min(cap, base * 2**attempt)
    return random.uniform(0, wait) if jitter else wait
