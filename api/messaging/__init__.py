"""Messaging: conversations, messages, read markers and unread counts, search,
notifications, blocks, admin broadcasts, attachments and events over REST."""
from api.messaging import attachments, blocks, broadcasts, conversations, events, messages, notifications, unread

BLUEPRINTS = [
    conversations.blp, messages.blp, unread.blp, notifications.blp, blocks.blp, broadcasts.blp, events.blp,
    attachments.blp,
]
