"""Delivery: webhooks to the PHP site (sent by the worker, `worker/`)."""
from api.delivery import webhooks

BLUEPRINTS = [webhooks.blp]
