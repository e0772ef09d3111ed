"""Delivery to people who are away and to the PHP site: webhooks (sent by the
worker, `worker/`), Web Push subscriptions, the email unsubscribe link."""
from api.delivery import push, unsubscribe, webhooks

BLUEPRINTS = [webhooks.blp, push.blp, unsubscribe.blp]
