"""Messaging: conversations, messages, attachments, reactions, read markers and unread counts,
search, notifications, blocks, admin broadcasts, team rosters and events over REST."""
from api.messaging import (
    attachments,
    blocks,
    broadcasts,
    conversations,
    events,
    messages,
    notifications,
    reactions,
    teams,
    unread,
)

BLUEPRINTS = [
    conversations.blp, messages.blp, attachments.blp, reactions.blp, unread.blp, notifications.blp, blocks.blp,
    broadcasts.blp, events.blp, teams.blp,
]
