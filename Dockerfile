# One image for every role: `burnafter api | web | reaper | migrate`.
# Runs as a non-root numeric user and works with a read-only root filesystem.
# Pinned by digest, so a rebuild gets the bytes that were reviewed, not whatever the
# tag points to that day (security finding 14). The digest of the multi-platform
# index of debian:bookworm-slim (docker-library/repo-info, August 2026); bump it
# with each Debian point release. A build without a registry passes its own base
# by digest (tools/image_smoke.py).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim@sha256:abd67ffcfa541b485a3dff59865ab629aa048a6c613e639d36e7456b0b229241

FROM ${BASE_IMAGE} AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements-runtime.lock ./
RUN python3 -m venv /opt/burnafter \
 && /opt/burnafter/bin/pip install --no-cache-dir --require-hashes -r requirements-runtime.lock
COPY pyproject.toml README.md LICENSE ./
COPY services ./services
RUN /opt/burnafter/bin/pip install --no-cache-dir --no-deps . \
 && /opt/burnafter/bin/pip uninstall --yes pip setuptools

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="burnafter" \
      org.opencontainers.image.description="Zero-knowledge, self-destructing secrets: api, web, reaper and migrate in one image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="README.md"
# Python and the CA certificates (HTTPS webhooks, verified TLS to PostgreSQL): no
# compiler, no package manager caches, no pip in the final image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/burnafter /opt/burnafter
ENV PATH=/opt/burnafter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    METRICS_PORT=9090
USER 10001:10001
EXPOSE 8080 9090
# aiohttp and the reaper drain on SIGTERM within SHUTDOWN_GRACE seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["burnafter"]
CMD ["api"]
