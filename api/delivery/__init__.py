"""Reaching people who are away: Web Push subscriptions and the email unsubscribe link."""
from api.delivery import push, unsubscribe

BLUEPRINTS = [push.blp, unsubscribe.blp]
