# The digits prediction service: gunicorn serving the Flask app with the shipped weights.
#   docker build -t numpy-cnn-digits .
#   docker run --rm -p 127.0.0.1:8000:8000 numpy-cnn-digits
#
# The base is pinned to an exact Python release on an exact Debian release. Pin it by digest
# too where the registry can be read (`docker buildx imagetools inspect <image>` prints it;
# then FROM python:3.11.14-slim-bookworm@sha256:<digest>): the machine this was written on
# cannot reach Docker Hub, so no digest is stated here rather than an unverified one.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# One stage: a multi-stage build (dependencies in a venv, copied over) was tried and gave
# the same size to the megabyte, so the simpler file stays.
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    BIND=0.0.0.0:8000

# The runtime dependencies from the lock: wheels only, every file checked against its hash.
# NumPy's own test suite is not needed to serve.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/requirements.lock \
 && rm /tmp/requirements.lock \
 && find /usr/local/lib -depth -type d -name tests \
      -path "*-packages/numpy/*" -exec rm -rf {} + \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin digits

WORKDIR /srv/digits
# What the server runs, and no more: .dockerignore leaves out the trainer, the MNIST
# downloader, augmentation and the plots (tests/test_docker_context.py checks that the
# server's imports are all here).
COPY gunicorn.conf.py ./
COPY model/ model/
COPY app/ app/
COPY params/ params/
COPY templates/ templates/
COPY static/ static/
# The default corrections store (a SQLite file, when DATABASE_URL is not set) lives in
# instance/: the one folder the server may write to. Mount a volume here to keep it; with
# several replicas, set DATABASE_URL instead (each container would have its own file).
RUN mkdir instance && chown digits:digits instance

USER digits
EXPOSE 8000

# Liveness, not readiness: /healthz only says the process answers, so a database outage never
# marks containers unhealthy (an orchestrator that restarts unhealthy ones would restart them
# all for nothing). Readiness, /readyz, is for whatever routes traffic (deploy/k8s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# docker stop sends SIGTERM to gunicorn (PID 1, exec form below), which finishes the requests
# in flight within its graceful_timeout (10 s); give it more than that (docker stop -t 30,
# compose's stop_grace_period).
STOPSIGNAL SIGTERM

CMD ["gunicorn", "-c", "gunicorn.conf.py"]
