"""A threaded SIP2 2.00 server: one thread per kiosk connection, each a Conversation (conversation.py).

Per connection: frames end with CR (LF and CRLF are accepted too); idle connections and over-long
lines are closed; a backend failure (database down) closes the connection rather than answering
something unsure. PINs and passwords never reach the log.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading

from circulation.sip2.backend import Sip2Backend
from circulation.sip2.conversation import CloseConnection, Conversation, ServerSettings
from circulation.sip2.protocol import FrameSplitter, FrameTooLong

log = logging.getLogger(__name__)


class Sip2Server(socketserver.ThreadingTCPServer):
    """The listening server; `port` is the bound port (useful with port 0)."""

    allow_reuse_address = True
    daemon_threads = False  # server_close() waits for the connection threads

    def __init__(self, address: tuple[str, int], backend: Sip2Backend, settings: ServerSettings) -> None:
        super().__init__(address, _ConnectionHandler)
        self.backend = backend
        self.settings = settings
        self.thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self.server_address[1])

    def opened(self, connection: socket.socket) -> None:
        """Remember an open connection, so that stop() can end it."""
        with self._lock:
            self._connections.add(connection)

    def closed(self, connection: socket.socket) -> None:
        """Forget a connection that has ended."""
        with self._lock:
            self._connections.discard(connection)

    def stop(self) -> None:
        """Stop a server started by start_in_thread: stop accepting, end open connections, wait for threads."""
        if self.thread is not None:
            self.shutdown()  # returns once serve_forever() has left its loop
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by the kiosk
                    connection.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self.thread is not None:
            self.thread.join()


class _ConnectionHandler(socketserver.BaseRequestHandler):
    server: Sip2Server
    request: socket.socket

    def handle(self) -> None:
        settings = self.server.settings
        peer = "%s:%s" % self.client_address[:2]
        self.request.settimeout(settings.idle_timeout)
        self.server.opened(self.request)
        conversation = Conversation(self.server.backend, settings, peer)
        splitter = FrameSplitter(settings.max_line)
        try:
            while chunk := self.request.recv(4096):
                for frame in splitter.feed(chunk):
                    self.request.sendall(conversation.answer(frame))
        except CloseConnection as closing:
            log.warning("SIP2 %s: closing: %s", peer, closing)
            if closing.reply is not None:
                with contextlib.suppress(OSError):
                    self.request.sendall(closing.reply)
        except FrameTooLong as error:
            log.warning("SIP2 %s: closing: %s", peer, error)
        except TimeoutError:
            log.info("SIP2 %s: closing after %.0f s idle", peer, settings.idle_timeout)
        except OSError as error:
            log.info("SIP2 %s: connection lost: %s", peer, error)
        except Exception:
            # Typically the backend failing (database down): say nothing rather than something unsure.
            log.exception("SIP2 %s: closing after an error while answering (backend down?)", peer)
        finally:
            self.server.closed(self.request)


def make_server(host: str, port: int, backend: Sip2Backend, settings: ServerSettings | None = None) -> Sip2Server:
    """A bound (not yet serving) server; port 0 picks a free port."""
    return Sip2Server((host, port), backend, settings or ServerSettings())


def serve(host: str, port: int, backend: Sip2Backend, *, timezone_name: str = "Asia/Makassar",
          idle_timeout: float = 300.0, max_line: int = 4096, status_before_login: bool = True,
          institution_id: str = "") -> None:
    """Serve kiosks until interrupted."""
    settings = ServerSettings(timezone_name=timezone_name, idle_timeout=idle_timeout, max_line=max_line,
                              status_before_login=status_before_login, institution_id=institution_id)
    with make_server(host, port, backend, settings) as server:
        log.info("SIP2 server listening on %s:%d", host, server.port)
        server.serve_forever()


def start_in_thread(host: str, port: int, backend: Sip2Backend, settings: ServerSettings | None = None) -> Sip2Server:
    """Serve in a background thread; returns the server (its `port`, and `stop()` to end it)."""
    server = make_server(host, port, backend, settings)
    # A short poll interval makes stop() quick; the cost is a wake-up every 0.1 s in an idle test server.
    server.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                     name=f"sip2-{server.port}", daemon=True)
    server.thread.start()
    return server
