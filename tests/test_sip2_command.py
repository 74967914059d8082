"""`flask --app ils sip2 serve` as a kiosk meets it: a separate process on a TCP port, the real database."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from circulation.models import Loan, SipAccount
from circulation.sip2.protocol import parse_frame
from ils.extensions import db
from ils.models import LibraryType
from ils.passwords import hash_password
from tests.conftest import REPO
from tests.factories import WEEKDAY_HOURS, make_library, make_patron, make_record
from tests.test_sip2_server import Kiosk

PIN = "8642"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connect(port: int, proc: subprocess.Popen[str], seconds: float = 60) -> Kiosk:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return Kiosk(port)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                out, err = proc.communicate(timeout=10)
                raise AssertionError(f"the server did not listen (exit {proc.returncode}): {err[-2000:]}") from None
            time.sleep(0.2)


@pytest.mark.slow
def test_the_serve_command_lends_and_returns_over_tcp(app: Flask, session_dir: Path) -> None:
    """Login, status, a checkout with the PIN and its check-in through the command's own process; the
    loan is in the database, and neither the PIN nor the kiosk password reaches the server's output."""
    with app.app_context():
        library = make_library("PKC", LibraryType.UMUM_KOTA, opening_hours=WEEKDAY_HOURS)
        make_record("Sang Pemimpi", library, barcode="38888000001")
        patron = make_patron("Rahmat Hidayat", library, pin=PIN)
        db.session.add(SipAccount(login="kios-cmd", password_hash=hash_password("Sandi-Kios-99"),
                                  library_id=library.id, label="Kiosk (command test)"))
        db.session.commit()
        card, patron_id = patron.card_number, patron.id
        db.session.remove()
    port = _free_port()
    env = dict(os.environ, ILS_CONFIG="config.TestingConfig", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               ILS_INSTANCE_PATH=str(session_dir / "sip2-command-instance"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "ils", "sip2", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--idle-timeout", "30"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        kiosk = _connect(port, proc)
        try:
            assert parse_frame(kiosk.ask("9300CNkios-cmd|COSandi-Kios-99|CPLOBI|")).fixed["ok"] == "1"
            status = parse_frame(kiosk.ask("9900302.00"))
            assert status.fixed["online_status"] == "Y" and status.get("AO") == "PKC"
            tx = "20261127    100000"
            out = parse_frame(kiosk.ask(f"11NN{tx}{' ' * 18}AOPKC|AA{card}|AB38888000001|AC|AD{PIN}|"))
            assert out.fixed["ok"] == "1" and out.get("AJ") == "Sang Pemimpi" and out.get("AH")
            back = parse_frame(kiosk.ask(f"09N{tx}{tx}APPKC|AOPKC|AB38888000001|AC|"))
            assert back.fixed["ok"] == "1"
        finally:
            kiosk.socket.close()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"SIP2 server on 127.0.0.1:{port}" in out
    assert PIN not in out + err and "Sandi-Kios-99" not in out + err
    with app.app_context():
        loans = db.session.scalars(select(Loan).where(Loan.actor_label == "sip2:kios-cmd")).all()
        assert len(loans) == 1 and loans[0].channel == "sip2" and loans[0].returned_at is not None
        # No history opt-in and CIRCULATION_ANONYMISE_AFTER_DAYS = 0: the return cut the patron link.
        assert loans[0].patron_id is None and loans[0].anonymised
        assert patron_id not in db.session.scalars(select(Loan.patron_id)).all()
        db.session.remove()
