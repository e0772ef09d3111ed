"""gunicorn settings for the Procfile: `gunicorn -c api/gunicorn_conf.py api.wsgi:app`.

Workers and threads come from the environment; gunicorn's own error
answers use the JSON error shape (api/gunicorn_worker.py); access log goes to stdout.
Prometheus needs a shared directory to sum metrics over workers; it is
emptied at start so counters from an earlier run do not leak in.
"""
import os
import shutil

# Must be set before prometheus_client is imported anywhere (it picks its value store at import).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", f"/tmp/mentorship-api-metrics-{os.environ.get('API_PORT', '5000')}")

from prometheus_client import multiprocess  # noqa: E402

bind = f"{os.environ.get('API_HOST', '127.0.0.1')}:{os.environ.get('API_PORT', '5000')}"
workers = int(os.environ.get("API_WORKERS", "2"))
threads = int(os.environ.get("API_THREADS", "4"))
# gunicorn's own answers (414, 431, 400 before the app runs) in the JSON error
# shape; API_JSON_SERVER_ERRORS=0 falls back to gunicorn's HTML (api/gunicorn_worker.py).
JSON_ERRORS = os.environ.get("API_JSON_SERVER_ERRORS", "1") != "0"
worker_class = "api.gunicorn_worker.JsonErrorWorker" if JSON_ERRORS else "gthread"
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
graceful_timeout = 20
# One control socket per instance (gunicorn's default is one per user: a second
# instance on the host would take over the first one's); API_CONTROL_SOCKET overrides.
control_socket = os.environ.get("API_CONTROL_SOCKET") or f"/tmp/mentorship-api-{os.environ.get('API_PORT', '5000')}.ctl"


def on_starting(server):
    # Validate in the master, before forking: a bad setting stops gunicorn with
    # the gateway's one line and a non-zero exit instead of workers respawning forever.
    from shared.config import load_or_exit

    load_or_exit()
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
