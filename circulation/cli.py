"""Circulation commands: `flask --app ils sip2 serve` for self-check kiosks."""
from __future__ import annotations

import click
from flask import Flask, current_app


@click.group("sip2", help="SIP2 server for self-check machines.")
def sip2_group() -> None:
    """SIP2 commands."""


@sip2_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. SIP2 is cleartext: keep it on loopback, the library LAN or a VPN (S8).")
@click.option("--port", default=6001, show_default=True, type=int, help="TCP port.")
@click.option("--idle-timeout", default=300.0, show_default=True, type=float,
              help="Seconds of silence before a kiosk connection is closed.")
def serve_command(host: str, port: int, idle_timeout: float) -> None:
    """Serve SIP2 2.00 to kiosks; each kiosk logs in (93) with an account made under Circulation > SIP2.

    After login a kiosk's dates are its library's local time (ILS_DEFAULT_TIMEZONE before login).
    """
    from circulation.sip2 import serve
    from circulation.sip2.service import DatabaseBackend

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"SIP2 server on {host}:{port} (Ctrl+C to stop)")
    serve(host, port, DatabaseBackend(app), timezone_name=app.config["ILS_DEFAULT_TIMEZONE"],
          idle_timeout=idle_timeout)


def init_app(app: Flask) -> None:
    """Register the circulation CLI groups."""
    app.cli.add_command(sip2_group)
