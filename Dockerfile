# ocpagg image: `python -m ocpagg` on a slim Python 3.11, running as a non-root user.
#
# Building needs a registry for the base images (docker.io/library/rust, docker.io/library/python):
#   docker build -t ocpagg:latest .
# The wheel is built by deploy/build-wheel.sh, the same script CI runs (deploy/lint.sh).

# ---- builder: the abi3 wheel -------------------------------------------------------------------
FROM docker.io/library/rust:1.95-slim-bookworm AS builder

# Debian 12's python3 is 3.11, the version the wheel's abi3 floor and the runtime use. Debian
# versions are not pinned: a stable release only gets security fixes, and old pins disappear.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir maturin==1.16.0
ENV PATH=/opt/build/bin:$PATH

WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY rust ./rust
COPY python ./python
COPY deploy/build-wheel.sh ./deploy/build-wheel.sh
RUN deploy/build-wheel.sh /wheels

# ---- runtime: the wheel and its dependencies only ----------------------------------------------
FROM docker.io/library/python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp

COPY --from=builder /wheels /wheels
# The metrics extra (prometheus_client) serves --metrics-textfile and --pushgateway. The wheel is a
# local file; its dependencies' ranges are in its metadata (pyproject.toml).
# hadolint ignore=DL3013
RUN wheel=$(ls /wheels/ocpagg-*.whl) \
    && pip install --no-cache-dir "${wheel}[metrics]" \
    && rm -rf /wheels \
    && useradd --uid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin ocpagg

USER 10001
WORKDIR /tmp
ENTRYPOINT ["python", "-m", "ocpagg"]
CMD ["--help"]
