"""Fake delivery endpoints for the notice and staff e-mail tests: a recording SMTP server and a
recording webhook gateway, with fixtures that point the app's settings at them (see conftest.py)."""
from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command succeeds, DATA is parsed and recorded."""

    server: SmtpServer

    def handle(self) -> None:  # noqa: D102 - socketserver API
        self.wfile.write(b"220 test ESMTP\r\n")
        lines: list[bytes] = []
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line in (b".\r\n", b".\n"):
                    in_data = False
                    self.server.messages.append(BytesParser(policy=default_policy).parsebytes(b"".join(lines)))
                    lines = []
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            command = line[:4].upper()
            if command in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 test\r\n")
            elif command == b"DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class SmtpServer(socketserver.ThreadingTCPServer):
    """A recording SMTP server on 127.0.0.1 and a free port."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.messages: list[EmailMessage] = []


class HookHandler(BaseHTTPRequestHandler):
    """Records each POST and answers with the server's current status."""

    server: HookServer

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers), body.decode("utf-8")))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server API
        """Quiet."""


class HookServer(ThreadingHTTPServer):
    """A recording webhook gateway on 127.0.0.1 and a free port."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HookHandler)
        self.requests: list[tuple[dict[str, str], str]] = []
        self.status = 200


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A running SMTP server the app is configured to use (no STARTTLS, no login)."""
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "CIRCULATION_SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "CIRCULATION_SMTP_PORT", server.server_address[1])
    monkeypatch.setitem(app.config, "CIRCULATION_SMTP_STARTTLS", False)
    monkeypatch.setitem(app.config, "CIRCULATION_MAIL_FROM", "perpustakaan@bontangkota.go.id")
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def hook(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[HookServer]:
    """A running webhook gateway the app is configured to use, with a bearer token."""
    server = HookServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "CIRCULATION_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/send")
    monkeypatch.setitem(app.config, "CIRCULATION_WEBHOOK_TOKEN", "gateway-token")
    monkeypatch.setitem(app.config, "CIRCULATION_WEBHOOK_TEMPLATE",
                        '{"to": "{phone}", "message": "{text}", "ref": "{key}"}')
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)
