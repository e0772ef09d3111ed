"""The delivery worker: follows the event log and delivers webhooks (`python -m worker`)."""
import os

# Set for the API's gunicorn workers and inherited by every process honcho
# starts; prometheus_client reads it at import and would then keep this
# process's metrics in files meant for the API. The worker's are its own.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
