"""The delivery worker: follows the event log and delivers webhooks (`python -m worker`)."""
