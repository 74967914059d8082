"""SIP2 2.00 for self-check kiosks: the wire protocol, a threaded TCP server, and the backend it asks.

protocol.py is pure (frames in, frames out), server.py owns sockets and per-connection state, and
backend.py says what the server needs from circulation. Nothing here touches the database.
"""
from __future__ import annotations

from circulation.sip2.backend import (CheckinResult, CirculationResult, CirculationStatus, ItemInfo, KioskSession,
                                      PatronBlock, PatronInfo, Sip2Backend)
from circulation.sip2.server import ServerSettings, Sip2Server, make_server, serve, start_in_thread

__all__ = [
    "CheckinResult", "CirculationResult", "CirculationStatus", "ItemInfo", "KioskSession", "PatronBlock",
    "PatronInfo", "ServerSettings", "Sip2Backend", "Sip2Server", "make_server", "serve", "start_in_thread",
]
