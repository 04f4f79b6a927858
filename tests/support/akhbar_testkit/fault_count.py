"""What bench/faults.py counts of a run (tests/bench checks the counting): the ids sent, indexed,
lost, stored twice or dead-lettered, from the double and the dead-letter lists in Redis, and
whether any message is left anywhere."""

from __future__ import annotations

import argparse
import base64
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from redis import Redis
from redis.exceptions import RedisError

from akhbar.queues import dlq_key
from akhbar.upstream.kombu_redis import FETCHING
from akhbar_testkit.es_double import ElasticsearchDouble
from akhbar_testkit.harness import Pipeline, wait_until


@dataclass
class Trial:
    """One run of a scenario: the running pipeline, its double, the ids sent, what happened."""

    pipe: Pipeline
    es: ElasticsearchDouble
    expected: set[str]
    args: argparse.Namespace
    workdir: Path
    queues: list[str]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def redis(self) -> Redis:
        return self.pipe.redis.client

    def note(self, text: str) -> None:
        self.notes.append(text)

    def sleep(self, seconds: float) -> bool:
        """Wait unless the run drained first; True if it did."""
        return self.done.wait(seconds)


def payload_ids(payload: Any) -> set[str]:
    """Article ids in a dead-letter payload: a job, or a whole message of jobs."""
    if not isinstance(payload, dict):
        return set()
    jobs = payload["jobs"] if isinstance(payload.get("jobs"), list) else [payload]
    return {j["article"]["id"] for j in jobs if isinstance(j, dict)
            and isinstance(j.get("article"), dict) and isinstance(j["article"].get("id"), str)}


def dead_letters(t: Trial) -> dict[str, list[dict[str, Any]]]:
    """The entries of each stage's dead-letter list (akhbar:dlq:<stage>), non-empty ones only.
    (Named keys, not a SCAN: enrich's thousands of similarity keys made that a load on Redis.)"""
    lists = {q: [json.loads(e) for e in cast(list[bytes], t.redis.lrange(dlq_key(q), 0, -1))]
             for q in t.queues}
    return {q: entries for q, entries in lists.items() if entries}


def dead_ids(t: Trial) -> set[str]:
    return {i for entries in dead_letters(t).values() for e in entries
            for i in payload_ids(e["payload"])}


def indexed_ids(es: ElasticsearchDouble) -> set[str]:
    with es.lock:
        return set(es.docs)


def drained(t: Trial) -> bool:
    try:
        lengths = [t.redis.llen(q) for q in t.queues]
        dead = dead_ids(t)
    except RedisError:  # down: not drained
        return False
    return not any(lengths) and t.expected <= indexed_ids(t.es) | dead


def unacked_left(t: Trial) -> list[str]:
    """Each unacknowledged message: its queue, whether it waits for a retry delay (an ETA), and
    how many of its articles are indexed already."""
    docs, out = indexed_ids(t.es), []
    for raw in cast(list[bytes], t.redis.hvals("unacked")):
        message, _, queue = json.loads(raw)  # [message, exchange, routing key]
        args = json.loads(base64.b64decode(message["body"]))[0]
        ids = payload_ids(args[0]) if args else set()
        wait = "waiting for a retry delay" if message["headers"].get("eta") else "no delay"
        out.append(f"{queue} ({wait}; {len(ids & docs)} of its {len(ids)} articles indexed)")
    return out


def count(t: Trial, drain_s: float | None) -> dict[str, Any]:
    with t.es.lock:
        docs = set(t.es.docs)
        urls = {i: d.get("url") for i, d in t.es.docs.items()}
        copies = {i: sorted(where) for i, where in t.es.copies.items()}
        actions = Counter(a["index"]["_id"] for body in t.es.bulk_bodies for a in body[::2])
    dead = dead_letters(t)
    gone = {i for entries in dead.values() for e in entries for i in payload_ids(e["payload"])}
    duplicates = {i for i in docs if len(copies.get(i, ())) > 1} | (docs - t.expected)
    return {
        "sent": len(t.expected),
        "indexed": len(t.expected & docs),
        "lost": len(t.expected - docs - gone),
        "lost_ids": sorted(t.expected - docs - gone),
        "duplicate_ids": len(duplicates),
        # Each offending id: the indices it is stored in, and whether it was ever sent.
        "duplicates": {i: {"indices": copies.get(i, []), "sent": i in t.expected,
                           "url": urls.get(i), "bulk_actions": actions[i]}
                       for i in sorted(duplicates)},
        "redelivered": sum(1 for n in actions.values() if n > 1),
        "dead_lettered": sum(len(e) for e in dead.values()),
        "dead_letter_stages": {s: len(e) for s, e in dead.items()},
        "dead_letter_entries": [
            {"stage": s, "ids": sorted(payload_ids(e["payload"])),
             "error": f"{e['error_class']}: {e['message'][:300]}"}
            for s, entries in dead.items() for e in entries],
        "drain_s": None if drain_s is None else round(drain_s, 1),
        "unacked_left": cast(int, t.redis.hlen("unacked")),
    }


def findings(row: dict[str, Any], dead_expected: bool) -> list[str]:
    """A note naming the offenders of each count that is not 0 (dead letters only where the
    scenario does not make them)."""
    notes = []
    if row["lost"]:
        notes.append(f"LOST {row['lost']}: {', '.join(row['lost_ids'])}")
    for doc_id, d in row["duplicates"].items():
        where = " and ".join(d["indices"]) or "no index"
        what = "stored in" if d["sent"] else "never sent, stored in"
        notes.append(f"DUPLICATE id {doc_id} ({d['url']}): {what} {where}, "
                     f"{d['bulk_actions']} bulk action(s)")
    if row["dead_lettered"] and not dead_expected:
        by_cause: dict[tuple[str, str], list[str]] = {}
        for e in row["dead_letter_entries"]:
            by_cause.setdefault((e["stage"], e["error"]), []).extend(e["ids"] or ["(no id)"])
        notes += [f"DEAD-LETTERED {len(ids)} at {stage} ({error}): {', '.join(ids)}"
                  for (stage, error), ids in by_cause.items()]
    return notes


def forget_when_quiet(t: Trial) -> None:
    """Have the double forget once no message is left anywhere: none waiting in a stage queue,
    being fetched (akhbar.upstream.kombu_redis's fetch lists) or held unacknowledged.
    Forgetting as soon as the warm-up was indexed let a second copy of it still on its way be
    indexed afterwards and counted as an id never sent. At-least-once delivery allows that
    copy: the workers start together, and a worker's Reclaim puts back what another one, too
    busy to answer within a second, is fetching. Under backpressure each message is its own
    slow _bulk request, so the copy could not share the first one's request
    (test_faults_harness.py)."""
    wait_until(lambda: quiet(t), 120, "no message left after the warm-up")
    t.es.forget()


def quiet(t: Trial) -> bool:
    """No message waiting in a stage queue, being fetched or held unacknowledged (one read)."""
    with t.redis.pipeline(transaction=True) as pipe:
        for q in t.queues:
            pipe.llen(q)
        pipe.hlen("unacked")
        pipe.keys(f"{FETCHING}*")
        *lengths, unacked, fetching = pipe.execute()
    return not any(lengths) and not unacked and not fetching
