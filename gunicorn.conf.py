"""gunicorn settings for the digits service: ``gunicorn -c gunicorn.conf.py``.

Environment: BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (workers; default one per CPU
this process may use -- affinity mask and cgroup quota, so a container's --cpus -- at most
8), GUNICORN_TIMEOUT (seconds, default 30), ACCESS_LOG (default "-", stdout; empty for
none), LOG_LEVEL (default info), DIGITS_PARAMS (the parameter file).

The parameter file is checked once in the master before any worker starts, so a missing or
refused file stops start-up with one clear message; each worker then loads it for itself.

Shutdown is graceful: on SIGTERM (docker stop, a pod deleted) gunicorn stops accepting, lets
each worker finish the request it is serving for up to ``graceful_timeout`` seconds, then
exits; each worker closes its database connections as it goes (``worker_exit``). Whatever
stops it must wait longer than that (compose: stop_grace_period; Kubernetes:
terminationGracePeriodSeconds, after the preStop pause).
"""

import os
import sys

from app.blas import pin_blas_threads  # the app package imports nothing heavy: no NumPy yet
from app.cpus import available_cpus

# BLAS: one thread per worker, set before anything imports NumPy (on_starting below imports
# it in the master, and the workers fork from there).
pin_blas_threads()

wsgi_app = "app.wsgi:app"
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or min(8, available_cpus()))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10  # > the slowest request (/predict?explain=1 on a large image)
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
limit_request_line = 8190
limit_request_fields = 50
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
proc_name = "digits"
preload_app = False  # each worker loads the model itself, at start-up
reload = False
# gunicorn 27 opens a control socket in ~/.gunicorn by default; this service does not use it.
control_socket_disable = True


def on_starting(server):
    """Refuse to start, with one clear line, when the parameter file is missing or refused."""
    from app.factory import StartupError, default_config, load_predictor

    try:
        path = default_config()["PARAMS_PATH"]
        predictor = load_predictor(path)
    except StartupError as exc:
        server.log.error("%s", exc)
        print(f"digits: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    server.log.info("model %s (%s) found at %s", predictor.name, predictor.version, path)


def worker_exit(server, worker):
    """Close this worker's corrections store (its PostgreSQL connections), if it opened one."""
    app = getattr(worker, "wsgi", None)
    feedback = getattr(app, "extensions", {}).get("feedback")
    if feedback is not None:
        feedback.close()
