"""Catalog tables: MARC records (bibliographic and authority) with history, items, imports.

The MARC (MARC-in-JSON text in ``Record.marc``) is the source of truth; every other column of
Record is derived from it by catalog.bib on each save. Items belong to one library each.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ils.extensions import db
from ils.mixins import LibraryScopedMixin, TimestampMixin, UTCDateTime, enum_column, utcnow
from ils.models import Library


class RecordKind(str, enum.Enum):
    """Bibliographic records are titles; authority and holdings records are kept apart."""

    BIBLIOGRAPHIC = "bibliographic"
    AUTHORITY = "authority"
    HOLDINGS = "holdings"


class ItemStatus(str, enum.Enum):
    """An item's status; only catalog.services changes it (circulation goes through them)."""

    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    IN_TRANSIT = "in_transit"
    ON_HOLD_SHELF = "on_hold_shelf"
    LOST = "lost"
    DAMAGED = "damaged"
    WITHDRAWN = "withdrawn"
    IN_REPAIR = "in_repair"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(ITEM_STATUS_LABELS[self])


ITEM_STATUS_LABELS = {
    ItemStatus.AVAILABLE: _l("Available"), ItemStatus.ON_LOAN: _l("On loan"),
    ItemStatus.IN_TRANSIT: _l("In transit"), ItemStatus.ON_HOLD_SHELF: _l("On the hold shelf"),
    ItemStatus.LOST: _l("Lost"), ItemStatus.DAMAGED: _l("Damaged"), ItemStatus.WITHDRAWN: _l("Withdrawn"),
    ItemStatus.IN_REPAIR: _l("In repair"),
}


class ItemType(str, enum.Enum):
    """What kind of copy an item is (circulation rules are keyed on it)."""

    BUKU = "buku"
    REFERENSI = "referensi"
    SERIAL = "serial"
    AUDIO_VISUAL = "audio_visual"
    PETA = "peta"
    ELEKTRONIK = "elektronik"
    LAINNYA = "lainnya"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(ITEM_TYPE_LABELS[self])


ITEM_TYPE_LABELS = {
    ItemType.BUKU: _l("Book"), ItemType.REFERENSI: _l("Reference"), ItemType.SERIAL: _l("Magazine / serial"),
    ItemType.AUDIO_VISUAL: _l("Audio-visual"), ItemType.PETA: _l("Map"), ItemType.ELEKTRONIK: _l("Electronic"),
    ItemType.LAINNYA: _l("Other"),
}


class AcquisitionSource(str, enum.Enum):
    """How a library obtained an item."""

    PEMBELIAN = "pembelian"
    HADIAH = "hadiah"
    CSR = "csr"
    DEPOSIT = "deposit"
    LAINNYA = "lainnya"

    @property
    def label(self) -> str:
        """Translated label."""
        return str(SOURCE_LABELS[self])


SOURCE_LABELS = {
    AcquisitionSource.PEMBELIAN: _l("Purchase"), AcquisitionSource.HADIAH: _l("Gift / donation"),
    AcquisitionSource.CSR: _l("Company CSR"), AcquisitionSource.DEPOSIT: _l("Legal deposit"),
    AcquisitionSource.LAINNYA: _l("Other"),
}


class Record(TimestampMixin, db.Model):
    """One MARC record of the union catalog, shared by every library."""

    __tablename__ = "catalog_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RecordKind] = mapped_column(enum_column(RecordKind, "record_kind", 16), nullable=False, index=True)
    marc: Mapped[str] = mapped_column(Text, nullable=False)  # MARC-in-JSON
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    material_type: Mapped[str] = mapped_column(String(20), nullable=False, default="unknown")
    title: Mapped[str] = mapped_column(Text, nullable=False, default="")
    title_sort: Mapped[str] = mapped_column(String(200), nullable=False, default="", index=True)
    responsibility: Mapped[str] = mapped_column(Text, nullable=False, default="")
    main_author: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    other_names: Mapped[str] = mapped_column(Text, nullable=False, default="")  # "; "-joined
    isbns: Mapped[str] = mapped_column(String(400), nullable=False, default="")  # space-joined, 13 and 10
    issns: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    publisher: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    place: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    edition: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    language: Mapped[str] = mapped_column(String(3), nullable=False, default="")
    subjects: Mapped[str] = mapped_column(Text, nullable=False, default="")  # "; "-joined
    ddc: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    physical: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    series: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    created_by: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    created_library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id", ondelete="SET NULL"))

    items: Mapped[list[Item]] = relationship(back_populates="record", order_by="Item.id")

    # No id reuse on SQLite: a deleted record's id stays its tombstone's (OAI-PMH, merged links).
    __table_args__ = (Index("ix_catalog_record_updated", "updated_at", "id"), {"sqlite_autoincrement": True})

    @property
    def subject_list(self) -> list[str]:
        """Subjects as a list."""
        return [s for s in self.subjects.split("; ") if s]


class MatchKey(db.Model):
    """A normalised key a record can be matched by (control number, 035, ISBN, ISSN, title, content)."""

    __tablename__ = "catalog_match_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("catalog_record.id", ondelete="CASCADE"), nullable=False,
                                           index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    key: Mapped[str] = mapped_column(String(250), nullable=False, index=True)


class RecordVersion(db.Model):
    """Every version of every record, with who and when. Survives deletion and merging."""

    __tablename__ = "catalog_record_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)  # no FK: history outlives the record
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    marc: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)  # create, update, import, merge, revert
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    import_batch_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("record_id", "version"),)


class DeletedRecord(db.Model):
    """A tombstone: OAI-PMH reports deletions, and merged records point to their survivor."""

    __tablename__ = "catalog_deleted_record"

    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False, default="")
    merged_into_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)


class Item(LibraryScopedMixin, TimestampMixin, db.Model):
    """One copy, owned by one library, with its barcode unique across the city."""

    __tablename__ = "catalog_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("catalog_record.id"), nullable=False, index=True)
    barcode: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    accession_number: Mapped[str] = mapped_column(String(60), nullable=False)
    location_library_id: Mapped[int] = mapped_column(ForeignKey("library.id"), nullable=False, index=True)
    collection: Mapped[str] = mapped_column(String(60), nullable=False, default="Umum")
    call_class: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    call_author: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    call_title: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    item_type: Mapped[ItemType] = mapped_column(enum_column(ItemType, "item_type"), nullable=False, default=ItemType.BUKU)
    status: Mapped[ItemStatus] = mapped_column(enum_column(ItemStatus, "item_status"), nullable=False,
                                               default=ItemStatus.AVAILABLE, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    price: Mapped[int | None] = mapped_column(Integer)  # rupiah
    source: Mapped[AcquisitionSource] = mapped_column(enum_column(AcquisitionSource, "acquisition_source"),
                                                      nullable=False, default=AcquisitionSource.PEMBELIAN)
    acquired_on: Mapped[date | None] = mapped_column(Date, index=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    lendable_network: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    withdrawn_reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_import_batch.id", ondelete="SET NULL"),
                                                        index=True)
    import_key: Mapped[str | None] = mapped_column(String(80), unique=True)

    record: Mapped[Record] = relationship(back_populates="items")
    library: Mapped[Library] = relationship(foreign_keys="Item.library_id")
    location_library: Mapped[Library] = relationship(foreign_keys=[location_library_id])

    __table_args__ = (UniqueConstraint("library_id", "accession_number"),)

    @property
    def call_number(self) -> str:
        """The call number on one line (class, author mark, title letter)."""
        return " ".join(p for p in (self.call_class, self.call_author, self.call_title) if p)


class CatalogSettings(db.Model):
    """Per-library catalog settings: the accession number (nomor induk) and barcode patterns."""

    __tablename__ = "catalog_settings"

    library_id: Mapped[int] = mapped_column(ForeignKey("library.id", ondelete="CASCADE"), primary_key=True)
    accession_pattern: Mapped[str] = mapped_column(String(80), nullable=False, default="{seq:05d}/{code}/{yyyy}")
    barcode_prefix: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    default_collection: Mapped[str] = mapped_column(String(60), nullable=False, default="Umum")
    items_public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Counter(db.Model):
    """Per-library sequences (accession numbers per year, barcodes), incremented under a row lock."""

    __tablename__ = "catalog_counter"

    library_id: Mapped[int] = mapped_column(ForeignKey("library.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(30), primary_key=True)  # "accession:2026", "barcode"
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class BatchStatus(str, enum.Enum):
    """An import batch moves queued -> running -> done (or failed), and may be reverted."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REVERTED = "reverted"


class ImportBatch(LibraryScopedMixin, TimestampMixin, db.Model):
    """One uploaded file imported for one library, with counts and a per-record report."""

    __tablename__ = "catalog_import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    stored_path: Mapped[str] = mapped_column(String(500), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    format: Mapped[str] = mapped_column(String(10), nullable=False)
    encoding: Mapped[str] = mapped_column(String(12), nullable=False, default="auto")
    on_match: Mapped[str] = mapped_column(String(10), nullable=False, default="items")  # items | replace
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[BatchStatus] = mapped_column(enum_column(BatchStatus, "batch_status", 12), nullable=False,
                                                default=BatchStatus.QUEUED)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # records done (resume point)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    actor_label: Mapped[str] = mapped_column(String(100), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    job_id: Mapped[str | None] = mapped_column(String(64))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    library: Mapped[Library] = relationship()


class ImportRow(db.Model):
    """The outcome for one record of a batch: new, matched, updated, authority or rejected."""

    __tablename__ = "catalog_import_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("catalog_import_batch.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    offset: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(10), nullable=False)
    record_id: Mapped[int | None] = mapped_column(Integer, index=True)
    matched_by: Mapped[str] = mapped_column(String(260), nullable=False, default="")
    previous_version: Mapped[int | None] = mapped_column(Integer)
    items_added: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    issues: Mapped[list[Any] | None] = mapped_column(JSON)
    raw: Mapped[str | None] = mapped_column(Text)  # rejected records only: what could be read, for the report

    __table_args__ = (UniqueConstraint("batch_id", "position"), Index("ix_catalog_import_row_outcome",
                                                                      "batch_id", "outcome"))


class IndexChange(db.Model):
    """Outbox for the search index: written in the same transaction as the catalog change."""

    __tablename__ = "catalog_index_change"

    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
