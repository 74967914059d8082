"""Matching one chunk of staged records against the union catalog, storing it and reporting it.

A record whose match key is already known is matched (and, with ``on_match="replace"``, updated);
one matching an earlier record of the same chunk joins it; the rest are inserted in bulk with their
match keys, first versions and outbox rows. Copies from the file become items, keeping the file's
barcode and accession number when usable and numbering the rest from the library's counters; each
copy carries an import key, so a chunk processed again adds nothing twice. Every record gets a
report row with its outcome.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from catalog import bib, holdings, staging
from catalog.models import (AcquisitionSource, ImportBatch, ImportRow, IndexChange, Item, ItemStatus, ItemType,
                            MatchKey, Record, RecordVersion)
from catalog.services import items as item_service
from catalog.services.outbox import mark_changed
from catalog.services.records import update_record
from ils import bulk
from ils.authz import Actor
from ils.extensions import db
from ils.mixins import utcnow
from ils.models import Library

ROW_COLUMNS = ("position", "offset", "outcome", "record_id", "matched_by", "previous_version", "items_added", "title",
               "issues", "raw")
ITEM_COLUMNS = ("record_id", "barcode", "accession_number", "collection", "call_class", "call_author", "call_title",
                "item_type", "status", "price", "source", "acquired_on", "notes", "lendable_network", "import_key")


class Importer:
    """Processes chunks of read records for one batch."""

    def __init__(self, batch: ImportBatch, *, actor: Actor, today: date) -> None:
        self.batch, self.actor, self.today = batch, actor, today
        self.library = db.session.get(Library, batch.library_id)
        self.settings = item_service.settings_for(batch.library_id)
        self.key_prefix = f"{batch.sha256[:40]}:{batch.library_id}:"

    def summary(self) -> str:
        """The progress line: records read so far and the counts by outcome."""
        c = self.batch.counts
        return str(_l("%(done)s records: %(new)s new, %(matched)s matched, %(updated)s updated, %(auth)s authority, "
                      "%(rejected)s rejected, %(items)s items", done=self.batch.position, new=c.get("new", 0),
                      matched=c.get("matched", 0), updated=c.get("updated", 0), auth=c.get("authority", 0),
                      rejected=c.get("rejected", 0), items=c.get("items", 0)))

    def process(self, chunk: list[staging.Staged]) -> None:
        """Match, store and report one chunk of staged records (the caller commits)."""
        if not chunk:
            return
        counts = dict(self.batch.counts)
        self.new_ids: set[int] = set()
        rows: list[dict[str, Any]] = []
        readable = []
        for staged in chunk:
            if staged.readable:
                readable.append(staged)
            else:
                rows.append(self._row(staged, "rejected", issues=[{"code": staged.error, "severity": "error",
                                                                 "tag": "", "params": {},
                                                                 "text": staged.detail}]))
        existing = self._lookup([key for s in readable for _kind, key in s.keys])
        new_records: list[tuple[staging.Staged, dict[str, Any]]] = []
        targets: list[tuple[list[holdings.HeldItem], dict[str, Any]]] = []
        chunk_keys: dict[str, dict[str, Any]] = {}
        for staged in readable:
            hit = next(((key, existing[key]) for _kind, key in staged.keys if key in existing), None)
            local = next(((key, chunk_keys[key]) for _kind, key in staged.keys if key in chunk_keys), None)
            is_bib = staged.columns["kind"] == "bibliographic"
            outcome = "authority" if not is_bib else "matched"
            title = staged.columns["title"]
            if hit:
                key, record_id = hit
                row = self._row(staged, outcome, record_id=record_id, matched_by=key.split("|", 1)[1], title=title,
                                issues=staged.issues)
                if is_bib and self.batch.on_match == "replace" and not self.batch.dry_run:
                    self._replace(record_id, staged, row)
            elif local:
                key, first_row = local
                row = self._row(staged, outcome, matched_by=key.split("|", 1)[1], title=title, issues=staged.issues)
                row["_same_as"] = first_row
            else:
                row = self._row(staged, "new" if is_bib else "authority", title=title, issues=staged.issues)
                new_records.append((staged, row))
                for _kind, key in staged.keys:
                    chunk_keys.setdefault(key, row)
            targets.append((staged.held, row))
            rows.append(row)
        if not self.batch.dry_run:
            self._insert_records(new_records)
            for _held, row in targets:
                if row.get("record_id") is None and "_same_as" in row:
                    row["record_id"] = row["_same_as"].get("record_id")
            self._insert_items([(row["record_id"], held, row) for held, row in targets
                                if held and row.get("record_id") is not None and row["outcome"] != "authority"])
        for row in rows:
            row.pop("_same_as", None)
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
            counts["items"] = counts.get("items", 0) + row["items_added"]
        rows.sort(key=lambda r: r["position"])
        bulk.insert_rows(ImportRow.__table__, ROW_COLUMNS, [[row[c] for c in ROW_COLUMNS] for row in rows],
                         constants={"batch_id": self.batch.id})
        self.batch.position = chunk[-1].position
        self.batch.counts = counts

    def _row(self, result: staging.Staged, outcome: str, *, record_id: int | None = None, matched_by: str = "",
             title: str = "", issues: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"position": result.position, "offset": result.offset, "outcome": outcome, "record_id": record_id,
                "matched_by": matched_by[:260], "previous_version": None, "items_added": 0,
                "title": (title or "")[:300], "issues": issues or None, "raw": None}

    def _lookup(self, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 900):
            part = unique[start:start + 900]
            for key, record_id in db.session.execute(select(MatchKey.key, MatchKey.record_id)
                                                     .where(MatchKey.key.in_(part)).order_by(MatchKey.record_id)):
                found.setdefault(key, record_id)
        return found

    def _replace(self, record_id: int, staged: staging.Staged, row: dict[str, Any]) -> None:
        record = db.session.get(Record, record_id)
        if record is None or bib.loads(record.marc) == bib.loads(staged.columns["marc"]):
            return
        row["previous_version"] = record.version
        update_record(record_id=record_id, marc=bib.loads(staged.columns["marc"]), actor=self.actor, action="import",
                      note=f"batch #{self.batch.id}", batch_id=self.batch.id, check=False)
        row["outcome"] = "updated"

    def _insert_records(self, new_records: list[Any]) -> None:
        if not new_records:
            return
        now = utcnow()
        table = Record.__table__
        ids = bulk.reserve_ids(table, len(new_records))
        names = list(new_records[0][0].columns)
        bulk.insert_rows(table, ["id", *names],
                         [(record_id, *(staged.columns[n] for n in names))
                          for record_id, (staged, _row) in zip(ids, new_records, strict=True)],
                         constants={"version": 1, "created_by": self.actor.label,
                                    "created_library_id": self.batch.library_id, "created_at": now, "updated_at": now})
        self.new_ids = set(ids)  # these get their outbox rows here, not again with their items
        keys: list[tuple[int, str, str]] = []
        for record_id, (staged, row) in zip(ids, new_records, strict=True):
            row["record_id"] = record_id
            keys += [(record_id, kind, key) for kind, key in staged.keys]
        bulk.insert_rows(MatchKey.__table__, ("record_id", "kind", "key"), keys)
        bulk.insert_rows(RecordVersion.__table__, ("record_id", "marc"),
                         [(record_id, staged.columns["marc"]) for record_id, (staged, _row) in zip(ids, new_records)],
                         constants={"version": 1, "action": "import", "note": f"batch #{self.batch.id}",
                                    "actor_label": self.actor.label, "user_id": self.batch.user_id,
                                    "import_batch_id": self.batch.id, "created_at": now})
        bulk.insert_rows(IndexChange.__table__, ("record_id",), [(record_id,) for record_id in ids],
                         constants={"changed_at": now})

    def _insert_items(self, targets: list[tuple[int, list[holdings.HeldItem], dict[str, Any]]]) -> None:
        if not targets:
            return
        wanted = [(record_id, n, held, row) for record_id, helds, row in targets for n, held in enumerate(helds)]
        import_keys = [f"{self.key_prefix}{row['position']}:{n}" for _rid, n, _h, row in wanted]
        done_keys = set(db.session.scalars(select(Item.import_key).where(Item.import_key.in_(import_keys))))
        barcodes = [h.barcode for _rid, _n, h, _row in wanted if h.barcode]
        taken = set()
        for start in range(0, len(barcodes), 900):
            taken |= set(db.session.scalars(select(Item.barcode).where(Item.barcode.in_(barcodes[start:start + 900]))))
        todo = [(w, k) for w, k in zip(wanted, import_keys, strict=True) if k not in done_keys]
        if not todo:
            return
        accessions = [h.accession_number for (_rid, _n, h, _row), _k in todo if h.accession_number]
        used_acc = set(db.session.scalars(select(Item.accession_number).where(
            Item.library_id == self.batch.library_id, Item.accession_number.in_(accessions)))) if accessions else set()
        # Keep what the file says when it is usable; number the rest from the library's counters.
        chosen: list[tuple[str | None, str | None, list[str]]] = []
        for (_rid, _n, held, _row), _key in todo:
            notes = [held.notes] if held.notes else []
            barcode: str | None = held.barcode or None
            if barcode and (barcode in taken or not item_service.BARCODE.match(barcode)):
                notes.append(str(_l("imported barcode %(b)s was already in use or not valid", b=barcode)))
                barcode = None
            if barcode:
                taken.add(barcode)
            accession: str | None = held.accession_number[:60] or None
            if accession in used_acc:
                accession = None
            if accession:
                used_acc.add(accession)
            chosen.append((barcode, accession, notes))
        new_barcodes = iter(item_service.barcodes(self.library, sum(1 for c in chosen if c[0] is None)))
        new_acc = iter(item_service.accession_numbers(self.library, sum(1 for c in chosen if c[1] is None),
                                                      self.today))
        records = {r.id: r for r in db.session.execute(  # the columns call numbers need, not whole records
            select(Record.id, Record.ddc, Record.main_author, Record.title_sort, Record.title, Record.material_type)
            .where(Record.id.in_({rid for (rid, _n, _h, _row), _k in todo})))}
        values = []
        for ((record_id, _n, held, row), import_key), (barcode, accession, notes) in zip(todo, chosen, strict=True):
            barcode = barcode or next(new_barcodes)
            accession = accession or next(new_acc)
            record = records[record_id]
            call = holdings.split_call_number(held.call_number) if held.call_number else \
                item_service.default_call_number(record)
            item_type = held.item_type or ("serial" if record.material_type == "serial" else "buku")
            values.append((record_id, barcode[:40], accession[:60],
                           (held.collection or self.settings.default_collection)[:60], call[0], call[1], call[2],
                           ItemType(item_type), ItemStatus(held.status), held.price, AcquisitionSource(held.source),
                           held.acquired_on or self.today, "; ".join(notes)[:2000], held.lendable, import_key))
            row["items_added"] += 1
        now = utcnow()
        bulk.insert_rows(Item.__table__, ITEM_COLUMNS, values, constants={
            "library_id": self.batch.library_id, "location_library_id": self.batch.library_id,
            "status_changed_at": now, "public": self.settings.items_public, "withdrawn_reason": "",
            "import_batch_id": self.batch.id, "created_at": now, "updated_at": now})
        matched = {v[0] for v in values} - self.new_ids
        mark_changed(matched)
        # Records that gained copies changed who holds them (OAI-PMH sets, visibility): a new datestamp.
        item_service.holdings_changed(matched, now=now)
