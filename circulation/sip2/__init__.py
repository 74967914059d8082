"""SIP2 2.00 for self-check kiosks: the wire protocol, a threaded TCP server, and the backend it asks.

protocol.py is pure (frames in, frames out), conversation.py holds one connection's state and answers
its frames, server.py owns the sockets and threads, and backend.py says what the server needs from
circulation; service.py is the backend on the circulation services (the one module here that touches
the database).
"""
from __future__ import annotations

from circulation.sip2.backend import (CheckinResult, CirculationResult, CirculationStatus, ItemInfo, KioskSession,
                                      PatronBlock, PatronInfo, Sip2Backend)
from circulation.sip2.conversation import ServerSettings
from circulation.sip2.server import Sip2Server, make_server, serve, start_in_thread

__all__ = [
    "CheckinResult", "CirculationResult", "CirculationStatus", "ItemInfo", "KioskSession", "PatronBlock",
    "PatronInfo", "ServerSettings", "Sip2Backend", "Sip2Server", "make_server", "serve", "start_in_thread",
]
