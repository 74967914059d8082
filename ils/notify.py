"""Delivery channels for messages (members' notices, staff e-mail): e-mail over SMTP and an HTTP
webhook for WhatsApp/SMS gateways. The settings keep their CIRCULATION_SMTP_* / CIRCULATION_WEBHOOK_*
names, where they began.

A sender gets one Message and the app config and either returns (delivered), raises NotConfigured
(the channel is not set up: the notice stays pending and goes out once it is), or raises
DeliveryFailed (counted as an attempt). Another gateway plugs in with ``register_sender``.

Every message carries the notice's dedupe key, as the e-mail Message-ID and as the webhook's
Idempotency-Key header: a notice resent after a worker died mid-send carries the same key, so a
mail system or gateway that de-duplicates can drop the second copy. Nothing here logs addresses
or texts (UU PDP: no personal data in logs).
"""
from __future__ import annotations

import json
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

# Long enough for a slow gateway, short enough that one dead server cannot stall a whole run.
TIMEOUT_SECONDS = 10
PLACEHOLDER = re.compile(r"\{(phone|text|subject|key)\}")
# RFC 5322 dot-atom text: what may stand left of the "@" in a Message-ID.
NOT_ATOM = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


class NotConfigured(Exception):
    """The channel has no server or gateway configured; the notice waits instead of failing."""


class DeliveryFailed(Exception):
    """The server or gateway refused or could not be reached; the attempt counts."""


@dataclass(frozen=True)
class Message:
    """What a sender needs: the address for its channel, the texts and the de-duplication key."""

    key: str
    to: str
    subject: str
    text: str


Sender = Callable[[Message, Mapping[str, Any]], None]


@dataclass(frozen=True)
class Channel:
    """A registered channel: its sender and the recipient's attribute holding its address (members)."""

    name: str
    send: Sender
    address_field: str


SENDERS: dict[str, Channel] = {}


def register_sender(name: str, *, address_field: str) -> Callable[[Sender], Sender]:
    """Decorator: deliver channel ``name`` with ``fn``, addressed by the recipient's ``address_field``."""

    def decorate(fn: Sender) -> Sender:
        SENDERS[name] = Channel(name=name, send=fn, address_field=address_field)
        return fn

    return decorate


def address_of(channel: str, recipient: Any) -> str:
    """The recipient's current address for a channel ("" when there is none)."""
    found = SENDERS.get(channel)
    if found is None:
        return ""
    return str(getattr(recipient, found.address_field, "") or "").strip()


def deliver(channel: str, message: Message, config: Mapping[str, Any]) -> None:
    """Send one message on a channel; an unknown channel is treated as not configured."""
    found = SENDERS.get(channel)
    if found is None:
        raise NotConfigured(f"no sender registered for channel {channel!r}")
    found.send(message, config)


def message_id(key: str, mail_from: str) -> str:
    """A stable Message-ID built from the dedupe key, so a resend is recognisably the same mail."""
    domain = mail_from.rpartition("@")[2].strip(" >") or "localhost"
    return f"<{NOT_ATOM.sub('.', key)}@{NOT_ATOM.sub('', domain) or 'localhost'}>"


@register_sender("email", address_field="email")
def send_email(message: Message, config: Mapping[str, Any]) -> None:
    """Send a plain-text e-mail through the configured SMTP server."""
    host = config.get("CIRCULATION_SMTP_HOST")
    if not host:
        raise NotConfigured("CIRCULATION_SMTP_HOST is not set")
    mail_from = str(config.get("CIRCULATION_MAIL_FROM") or "perpustakaan@localhost")
    mail = EmailMessage()
    mail["From"] = mail_from
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message_id(message.key, mail_from)
    mail.set_content(message.text)
    port = int(config.get("CIRCULATION_SMTP_PORT") or 587)
    try:
        # Port 465 speaks TLS from the first byte; other ports upgrade with STARTTLS when asked.
        if port == 465:
            server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        with server:
            if port != 465 and config.get("CIRCULATION_SMTP_STARTTLS"):
                server.starttls(context=ssl.create_default_context())
            if config.get("CIRCULATION_SMTP_USER"):
                server.login(str(config["CIRCULATION_SMTP_USER"]), str(config.get("CIRCULATION_SMTP_PASSWORD") or ""))
            server.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP {exc.smtp_code}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({str(code) for code, _text in exc.recipients.values()})
        raise DeliveryFailed(f"SMTP recipient refused ({', '.join(codes)})") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP {type(exc).__name__}") from exc


def webhook_body(template: str, values: Mapping[str, str]) -> str:
    """Fill {phone} {text} {subject} {key} with JSON-escaped values (the template supplies the quotes)."""
    # One pass, so a text that itself contains "{key}" is not expanded a second time.
    return PLACEHOLDER.sub(lambda m: json.dumps(values.get(m.group(1), ""), ensure_ascii=False)[1:-1], template)


@register_sender("webhook", address_field="phone")
def send_webhook(message: Message, config: Mapping[str, Any]) -> None:
    """POST the message to the WhatsApp/SMS gateway as the JSON body built from the template."""
    url = str(config.get("CIRCULATION_WEBHOOK_URL") or "")
    if not url:
        raise NotConfigured("CIRCULATION_WEBHOOK_URL is not set")
    if urlsplit(url).scheme not in ("http", "https"):
        raise NotConfigured("CIRCULATION_WEBHOOK_URL must be an http(s) URL")
    template = str(config.get("CIRCULATION_WEBHOOK_TEMPLATE") or "")
    body = webhook_body(template, {"phone": message.to, "text": message.text, "subject": message.subject,
                                   "key": message.key})
    try:
        json.loads(body)
    except ValueError as exc:
        # A broken template is a configuration problem: retrying would fail the same way every time.
        raise NotConfigured("CIRCULATION_WEBHOOK_TEMPLATE does not give valid JSON") from exc
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message.key,
               "User-Agent": "SIPUS-Bontang-notices"}
    if config.get("CIRCULATION_WEBHOOK_TOKEN"):
        headers["Authorization"] = f"Bearer {config['CIRCULATION_WEBHOOK_TOKEN']}"
    request = urllib.request.Request(url, data=body.encode("utf-8"), headers=headers, method="POST")
    try:
        # The scheme was checked above: only http(s) reaches urlopen (no file:// or ftp://).
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"webhook {type(exc).__name__}") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status}")
