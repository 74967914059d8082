"""The one list of periodic jobs. `flask --app ils jobs cron` enqueues each when its time comes.

Cron expressions are read in ILS_DEFAULT_TIMEZONE (Asia/Makassar, WITA) so "0 1 * * *" means
01:00 in Bontang, whatever the server clock's zone.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    """A job kind (registered with ils.jobs.register_job) and when to run it."""

    kind: str
    cron: str
    description: str
    at_start: bool = False  # also run once when the scheduler starts (catch up after downtime)


SCHEDULE: list[Periodic] = [
    Periodic("ils.network_report", "0 1 * * *", "Nightly network summary for the DPK"),
    Periodic("ils.purge_job_records", "30 2 * * *", "Remove job records past their retention"),
    # E-mail to staff (workflow steps waiting for them, reminders), and the removal of old ones.
    Periodic("ils.send_staff_mail", "*/10 * * * *", "Send the e-mail waiting for staff"),
    # Catalog changes made while the queue was unreachable wait in the outbox until this runs.
    # At start too: changes made while nothing ran (e.g. `flask demo` before `serve`) reach search at once.
    Periodic("catalog.index_changes", "7 * * * *", "Bring the search index up to date with the catalog",
             at_start=True),
    # Circulation. Reminders are queued once a morning, before the libraries open; the send run
    # drains the outbox (also what a checkout queued while Redis was down, R15) and reclaims
    # notices a killed worker left half-sent (R9).
    Periodic("circulation.scan_notices", "15 7 * * *", "Queue due-soon and overdue notices"),
    Periodic("circulation.send_notices", "*/10 * * * *", "Send the notices waiting in the outbox"),
    Periodic("circulation.expire_holds", "5 0 * * *", "Close holds not collected from the shelf in time"),
    Periodic("circulation.anonymise_loans", "40 2 * * *", "Anonymise returned loans past the retention period"),
    # Workflows: goal history is one figure per goal per day, taken after the day's work is in.
    Periodic("workflows.snapshot_goals", "50 23 * * *", "Record today's figure of every goal"),
    Periodic("workflows.send_reminders", "0 7 * * *", "Remind libraries and the DPK of workflow steps due"),
    Periodic("workflows.purge_evidence", "20 3 * * *", "Remove evidence files no longer used"),
]
