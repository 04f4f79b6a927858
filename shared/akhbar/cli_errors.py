"""How the `akhbar` command fails: one line on stderr naming what failed and what to do, and an
exit code from one table (README "Command line"). Commands raise; `explain` is the one place
that turns an exception into that line and code."""

from __future__ import annotations

import sys
from enum import IntEnum

from akhbar.contract import AkhbarError, ConfigError, TransientError
from akhbar.es import error_of
from akhbar.retry import TRANSIENT_STATUS
from akhbar.settings import Settings, redact_url

MAX_MESSAGE_CHARS = 1000


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # some inputs failed, or the command failed for the reason printed
    USAGE = 2  # a bad option, an unknown name, a path that cannot be used (argparse's code too)
    UNREACHABLE = 3  # Redis, Elasticsearch or Kibana cannot be reached or answers with an error
    CONFIG = 4  # a setting is wrong: an AKHBAR_* variable, the feeds file, credentials
    STOPPED = 5  # `akhbar run`: a process of the pipeline ended by itself
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class CliError(AkhbarError):
    """A failure the command has already put into words."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def reason(exc: BaseException) -> str:
    """The operating system's words for what went wrong (connection refused, name or service
    not known…) when the exception chain holds them, else the exception's own first line."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror:
            return e.strerror[:1].lower() + e.strerror[1:]
        e = e.__cause__ or e.__context__
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS - 1] + "…"


def exit_for(exc: AkhbarError) -> Exit:
    """The exit code of an Akhbar error's outcome (DESIGN.md, "Errors and what becomes of
    them"): a service failing (transient) 3, a configuration error 4, an input or job refused 1.
    """
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, TransientError):
        return Exit.UNREACHABLE
    return Exit.CONFIG if isinstance(exc, ConfigError) else Exit.FAILED


def explain(exc: BaseException, s: Settings | None) -> CliError:
    """The line and exit code for an exception that ended a command (`s`: None when the
    settings themselves could not be read)."""
    if isinstance(exc, CliError):
        message, code = exc.message, exc.code
    elif isinstance(exc, ConfigError | TransientError):
        message, code = str(exc), exit_for(exc)
    else:  # without settings, the defaults (unvalidated: only the URLs are read)
        message, code = _message(exc, s or Settings.model_construct())
    return CliError(one_line(message), code)


def _message(exc: BaseException, s: Settings) -> tuple[str, Exit]:
    from elasticsearch import ApiError, AuthenticationException, AuthorizationException
    from elasticsearch import TransportError as ESTransportError
    from kombu.exceptions import OperationalError
    from redis.exceptions import AuthenticationError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    redis_url, es_url = redact_url(s.redis_url), redact_url(s.es_url)
    if isinstance(exc, AuthenticationError):
        return (f"Redis at {redis_url} refused the connection ({reason(exc)}); put the "
                "password in AKHBAR_REDIS_URL (redis://:PASSWORD@host:port/0)", Exit.CONFIG)
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | OperationalError):
        return (f"cannot reach Redis at {redis_url} ({reason(exc)}); start it or set "
                "AKHBAR_REDIS_URL", Exit.UNREACHABLE)
    if isinstance(exc, ESTransportError):
        return (f"cannot reach Elasticsearch at {es_url} ({reason(exc)}); start it or set "
                "AKHBAR_ES_URL", Exit.UNREACHABLE)
    if isinstance(exc, AuthenticationException | AuthorizationException):
        return (f"Elasticsearch at {es_url} refused the request (HTTP {exc.status_code}: "
                f"{exc.message}); set AKHBAR_ES_USER and AKHBAR_ES_PASSWORD", Exit.CONFIG)
    if isinstance(exc, ApiError):
        error = error_of(exc)
        if exc.message == "index_not_found_exception":
            return (f"Elasticsearch at {es_url} has no index {error.get('index', '')} yet; "
                    "run `akhbar setup` (the index worker also creates it before its first "
                    "write)", Exit.CONFIG)
        why = f" ({error['reason']})" if error.get("reason") else ""
        return (f"Elasticsearch at {es_url} answered HTTP {exc.status_code}: {exc.message}{why}",
                _status_code(exc.status_code))
    if (found := _http_failure(exc, s)) is not None:
        return found
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out", Exit.UNREACHABLE
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot use {exc.filename}: {reason(exc)}", Exit.USAGE
    return (f"{type(exc).__name__}: {exc} (`akhbar --debug …` shows where)", Exit.FAILED)


def _http_failure(exc: BaseException, s: Settings) -> tuple[str, Exit] | None:
    """httpx errors (Kibana during `akhbar setup`). httpx is not a dependency of this package:
    an httpx exception can only exist when a command has imported it."""
    httpx = sys.modules.get("httpx")
    if httpx is None or not isinstance(exc, httpx.HTTPError):
        return None
    try:
        url = str(exc.request.url.copy_with(query=None))  # the address, not the parameters
    except RuntimeError:  # an error raised without a request
        return None
    service, variable = next(
        ((name, var) for name, base, var in (("Kibana", s.kibana_url, "AKHBAR_KIBANA_URL"),
                                              ("Elasticsearch", s.es_url, "AKHBAR_ES_URL"))
         if url.startswith(base)), ("", ""))
    where = f"{service} at {redact_url(url)}" if service else redact_url(url)
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status in (401, 403):
            return (f"{where} refused the request (HTTP {status}); set AKHBAR_ES_USER and "
                    "AKHBAR_ES_PASSWORD", Exit.CONFIG)
        return f"{where} answered HTTP {status}", _status_code(status)
    hint = f"; start it or set {variable}" if variable else ""
    return f"cannot reach {where} ({reason(exc)}){hint}", Exit.UNREACHABLE


def _status_code(status: int) -> Exit:
    """A service answering a transient status is failing; another one means the request was
    refused."""
    return Exit.UNREACHABLE if status in TRANSIENT_STATUS else Exit.FAILED

