"""The Socket.IO gateway (aiohttp + python-socketio); see issue 5."""
