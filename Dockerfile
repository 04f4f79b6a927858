# Akhbar stage worker images: one image per stage, all built from this definition with the
# stage's name as build argument (docker-compose.yml gives it for each stage service). Build
# context is the repository root:
#   docker build --build-arg STAGE=enrich -t akhbar/enrich:dev .
# An image holds the contract package (shared/) and its stage's package (services/<STAGE>/)
# with every version pinned, and infra/ for `akhbar setup` (the index image runs it). Nothing
# is downloaded at run time: everything a stage needs (enrich: its entity model and gazetteer)
# must come with its installed packages.
FROM python:3.11-slim-bookworm

ARG STAGE
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AKHBAR_INFRA_DIR=/app/infra \
    AKHBAR_STAGE=${STAGE}

RUN groupadd --system --gid 10001 akhbar \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/akhbar \
    --shell /usr/sbin/nologin akhbar

WORKDIR /app
COPY constraints.txt /app/
COPY shared/ /app/shared/
COPY services/${STAGE}/ /app/services/${STAGE}/
RUN test -n "${STAGE}" \
 && pip install --no-cache-dir -c /app/constraints.txt /app/shared "/app/services/${STAGE}"
COPY infra/ /app/infra/

USER 10001:10001

# Files and folders created in the bind-mounted inbox (processed/, failed/, error sidecars) are
# group-writable, so the host users of its group (AKHBAR_GID) can remove them. Whatever the
# command (compose gives the watcher and beat their own), it runs under umask 002.
ENTRYPOINT ["/bin/sh", "-c", "umask 002 && exec \"$@\"", "sh"]

# The stage's Celery worker (akhbar.stages.worker_argv): its queue, node name <stage>@<host>,
# AKHBAR_<STAGE>_CONCURRENCY processes. Celery's warm shutdown on SIGTERM lets running tasks
# finish (late acks; see stop_grace_period).
CMD ["sh", "-c", "exec akhbar worker \"$AKHBAR_STAGE\""]
