"""School class lists: upload, the import job that registers or updates pupils, member cards per class.

A school library sends its class list (CSV or XLSX, e.g. a Dapodik export). Each pupil gets a card at
the school library, keyed by ``school:<library id>:<NIS>`` so next year's list moves pupils to their
new class instead of registering them twice. Children's data needs a guardian's consent (UU PDP
Pasal 25): the school's collected consent forms count only when the staff member says they exist.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from circulation.cards import CardData
from circulation.classlist import ClassListRow, parse_class_list
from circulation.models import Patron, PatronCategory, PatronConsent, PatronStatus
from circulation.services import patrons as patron_services
from circulation.services.common import local_today
from ils import audit, jobs
from ils.authz import Actor, require, require_listing
from ils.errors import IlsError, NotFound, ValidationFailed
from ils.extensions import db
from ils.models import JobRecord, Library, LibraryType

JOB_KIND = "circulation.import_class_list"
SCHOOL_CATEGORIES = {LibraryType.SEKOLAH_SD: "pelajar_sd", LibraryType.SEKOLAH_SMP: "pelajar_smp",
                     LibraryType.SEKOLAH_SMA: "pelajar_sma"}
# A class list of a few thousand pupils is well under this; parse_class_list checks it again.
MAX_BYTES = 5_000_000
# Stored uploads are named by us: a random hex name and the format, nothing from the user.
UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")
# The guardian is the pupil's parent whose signed form the school keeps; staff may add the real
# name later. The patron services ask for a guardian before a minor's card is active.
GUARDIAN_ON_FILE = "Orang tua/wali (formulir persetujuan di sekolah)"
CHUNK = 100  # pupils per committed step
PROBLEMS_KEPT = 500  # in the job result; the count says how many there were in all
# Patron column limits (circ_patron): PostgreSQL refuses longer values, SQLite would keep them.
LIMITS = {"name": 200, "nis": 30, "school_class": 30}
Checkpoint = Callable[[float, str], None]


def school_category(library: Library) -> str:
    """The pupil category of a school library's members (pelajar_sd/smp/sma)."""
    code = SCHOOL_CATEGORIES.get(library.type)
    if code is None:
        raise ValidationFailed(_l("Class lists are imported for school libraries (SD, SMP, SMA) only; %(name)s is "
                                  "not one.", name=library.name), field="library_id")
    return code


def school_libraries(*, actor: Actor) -> list[Library]:
    """Active school libraries the actor may import class lists for."""
    ids = require_listing(actor, "patron.import")
    stmt = select(Library).where(Library.type.in_(list(SCHOOL_CATEGORIES)), Library.active.is_(True))
    if ids is not None:
        stmt = stmt.where(Library.id.in_(ids))
    return list(db.session.scalars(stmt.order_by(Library.name)))


def upload_dir() -> Path:
    """Where uploaded class lists wait for their job (instance folder, never served)."""
    folder = Path(current_app.instance_path) / "class-lists"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _format(filename: str) -> str:
    name = (filename or "").lower()
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith(".xls"):
        raise ValidationFailed(_l("Old Excel files (.xls) cannot be read; save the class list as .xlsx or .csv."),
                               field="file")
    if name.endswith((".csv", ".txt")):
        return "csv"
    raise ValidationFailed(_l("Upload the class list as a CSV or Excel (.xlsx) file."), field="file")


def start_import(*, actor: Actor, library_id: int, stream: IO[bytes], filename: str, consent_collected: bool,
                 now: datetime) -> JobRecord:
    """Store an uploaded class list and queue its import for a school library."""
    require(actor, "patron.import", library_id)
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    school_category(library)
    name = f"{uuid.uuid4().hex}.{_format(filename)}"
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_l("The file is larger than %(mb)s MB; split the class list into smaller files.",
                                  mb=MAX_BYTES // 1_000_000), field="file")
    if not data:
        raise ValidationFailed(_l("The file is empty."), field="file")
    path = upload_dir() / name
    path.write_bytes(data)
    path.chmod(0o600)  # pupils' names and birth dates: readable by the app only
    record = jobs.enqueue(JOB_KIND, actor=actor, library_id=library_id,
                          args={"library_id": library_id, "upload": name, "consent": bool(consent_collected)})
    # The staff member's statement that the school holds the parents' forms is what the consent rests on.
    audit.record(actor, "patron.import", object_type="job", object_id=record.id, library_id=library_id,
                 details={"consent_forms_collected": bool(consent_collected), "size": len(data)}, now=now)
    return record


def run_import(*, library_id: int, upload: str, consent: bool, actor: Actor, now: datetime,
               checkpoint: Checkpoint) -> dict[str, Any]:
    """Import a stored class list; ``checkpoint`` commits after each chunk (a rerun updates, never duplicates)."""
    if not UPLOAD_NAME.match(upload):
        raise ValidationFailed(_l("Unknown upload."))
    path = upload_dir() / upload
    if not path.exists():
        raise ValidationFailed(_l("The uploaded file is no longer there; upload the class list again."))
    library = db.session.get(Library, library_id)
    if library is None:
        raise NotFound()
    try:
        category = db.session.get(PatronCategory, school_category(library))
        if category is None:
            raise ValidationFailed(_l("The member category for this school is missing; ask the DPK to restore it."))
        parsed = parse_class_list(path.read_bytes(), upload, max_bytes=MAX_BYTES)
    except IlsError:
        path.unlink(missing_ok=True)  # a file that cannot be read will not become readable on a retry
        raise
    importer = _Importer(library=library, category=category, consent=consent, actor=actor, now=now,
                         today=local_today(library.id, now))
    for problem in parsed.problems:
        importer.problem(problem.line, problem.field, problem.message)
    total = len(parsed.rows)
    checkpoint(0, str(_l("%(count)s pupils in the list", count=total)))
    for done, row in enumerate(parsed.rows, start=1):
        importer.add(row)
        if done % CHUNK == 0:
            checkpoint(min(99.0, 100.0 * done / total), importer.summary())
    result = importer.result()
    checkpoint(100, importer.summary())
    # The committed result is all that remains of the upload: no copy of the pupils' data is kept.
    path.unlink(missing_ok=True)
    return result


class _Importer:
    """Registers or updates one class list's pupils, counting outcomes and problems."""

    def __init__(self, *, library: Library, category: PatronCategory, consent: bool, actor: Actor, now: datetime,
                 today: date) -> None:
        self.library, self.category, self.consent = library, category, consent
        self.actor, self.now, self.today = actor, now, today
        self.counts = {"created": 0, "pending": 0, "updated": 0, "activated": 0, "unchanged": 0}
        self.problems: list[dict[str, Any]] = []
        self.problem_count = 0

    def problem(self, line: int, field: str, message: str) -> None:
        """Note a problem of one row of the file."""
        self.problem_count += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append({"line": line, "field": field, "message": str(message)})

    def add(self, row: ClassListRow) -> None:
        """Register or update one pupil in a savepoint, so one bad row leaves the others alone."""
        try:
            with db.session.begin_nested():
                outcome = self._add(row)
        except IlsError as exc:
            self.problem(row.line, exc.field or "", exc.message)
            return
        except IntegrityError:
            # Another import of the same school registered this NIS a moment ago.
            self.problem(row.line, "nis", str(_l("The NIS %(nis)s is being imported at the same time; import the "
                                                 "list again.", nis=row.nis)))
            return
        self.counts[outcome] += 1

    def _minor(self, born: date | None) -> bool:
        # An unknown birth date counts as a child: pupils almost always are (UU PDP Pasal 25).
        if born is None:
            return True
        age = self.today.year - born.year - ((self.today.month, self.today.day) < (born.month, born.day))
        return age < self.category.minor_below_age

    def _add(self, row: ClassListRow) -> str:
        for field, limit in LIMITS.items():
            if len(getattr(row, field)) > limit:
                raise ValidationFailed(_l("The value is longer than %(limit)s characters.", limit=limit), field=field)
        key = f"school:{self.library.id}:{row.nis}"
        patron = db.session.scalar(select(Patron).where(Patron.import_key == key))
        if patron is None:
            # A pupil registered at the desk before the school sent its list: adopt, do not duplicate.
            patron = db.session.scalar(select(Patron).where(
                Patron.school_library_id == self.library.id, Patron.nis == row.nis, Patron.import_key.is_(None),
                Patron.status != PatronStatus.ERASED).order_by(Patron.id).limit(1))
        if patron is None or patron.status == PatronStatus.ERASED:
            return self._register(row, key)
        return self._update(patron, row, key)

    def _register(self, row: ClassListRow, key: str) -> str:
        data: dict[str, Any] = {"name": row.name, "category_code": self.category.code,
                                "home_library_id": self.library.id, "school_library_id": self.library.id,
                                "institution": self.library.name, "nis": row.nis, "school_class": row.school_class,
                                "birth_date": row.birth_date, "gender": row.gender}
        minor = self._minor(row.birth_date)
        if minor and self.consent:
            data["guardian_name"] = GUARDIAN_ON_FILE
        status = PatronStatus.PENDING if minor and not self.consent else PatronStatus.ACTIVE
        patron = patron_services.register(actor=self.actor, data=data, now=self.now, today=self.today,
                                          guardian_consent=minor and self.consent, channel="import", status=status)
        patron.import_key = key
        db.session.flush()
        return "pending" if status == PatronStatus.PENDING else "created"

    def _update(self, patron: Patron, row: ClassListRow, key: str) -> str:
        wanted: dict[str, Any] = {"name": row.name, "school_class": row.school_class,
                                  "institution": self.library.name, "school_library_id": self.library.id}
        # An empty cell in this year's list does not erase what the library already knows.
        if row.birth_date is not None:
            wanted["birth_date"] = row.birth_date
        if row.gender:
            wanted["gender"] = row.gender
        changed = {k: v for k, v in wanted.items() if getattr(patron, k) != v}
        outcome = "unchanged"
        if changed:
            patron_services.update(actor=self.actor, patron_id=patron.id, data=changed, now=self.now,
                                   today=self.today)
            outcome = "updated"
        if patron.import_key != key:
            patron.import_key = key
            outcome = "updated"
        if (self.consent and patron.status == PatronStatus.PENDING and patron.guardian_consent_at is None
                and self._minor(patron.birth_date)):
            self._activate(patron)
            outcome = "activated"
        db.session.flush()
        return outcome

    def _activate(self, patron: Patron) -> None:
        """A pupil waiting for consent whose form the school now holds: record it and activate."""
        if not (patron.guardian_id or patron.guardian_name):
            patron.guardian_name = GUARDIAN_ON_FILE
        patron.guardian_consent_at = self.now
        db.session.add(PatronConsent(patron_id=patron.id, purpose="guardian", granted=True, at=self.now,
                                     channel="import", witness=self.actor.label))
        patron_services.approve(actor=self.actor, patron_id=patron.id, now=self.now, today=self.today)

    def summary(self) -> str:
        """One line for the progress bar."""
        return str(_l("%(created)s registered, %(pending)s waiting for consent, %(updated)s updated, %(problems)s "
                      "problem(s)", created=self.counts["created"], pending=self.counts["pending"],
                      updated=self.counts["updated"] + self.counts["activated"], problems=self.problem_count))

    def result(self) -> dict[str, Any]:
        """The job result: counts and the problems to fix in the file."""
        return {**self.counts, "problem_count": self.problem_count, "problems": self.problems}


def recent_imports(*, actor: Actor, limit: int = 20) -> list[JobRecord]:
    """The latest class-list import jobs of the libraries the actor may import for."""
    ids = require_listing(actor, "patron.import")
    stmt = select(JobRecord).where(JobRecord.kind == JOB_KIND)
    if ids is not None:
        stmt = stmt.where(JobRecord.library_id.in_(ids))
    return list(db.session.scalars(stmt.order_by(JobRecord.created_at.desc()).limit(limit)))


# --- member cards ------------------------------------------------------------------------------

def card_data(patron: Patron, *, locale: str) -> CardData:
    """What a member card shows for this patron."""
    return CardData(card_number=patron.card_number, name=patron.name, category=patron.category.label(locale),
                    home_library=patron.home_library.name, expiry=patron.expiry_date,
                    school_class=patron.school_class)


def patron_card(*, actor: Actor, patron_id: int, now: datetime, locale: str) -> CardData:
    """One patron's card for printing at the home library (audited: a card shows the name)."""
    patron = patron_services.editable(actor=actor, patron_id=patron_id)
    audit.record(actor, "patron.card_print", object_type="patron", object_id=patron.id,
                 library_id=patron.home_library_id, now=now)
    return card_data(patron, locale=locale)


def class_cards(*, actor: Actor, school_id: int, school_class: str, now: datetime, locale: str) -> list[CardData]:
    """Cards of every member of one class of a school library, in name order."""
    require(actor, "patron.edit", school_id)
    school_class = " ".join((school_class or "").split())
    if not school_class:
        raise ValidationFailed(_l("Choose a class."), field="class")
    patrons = list(db.session.scalars(select(Patron).where(
        Patron.home_library_id == school_id, Patron.school_library_id == school_id,
        Patron.school_class == school_class, Patron.status != PatronStatus.ERASED).order_by(Patron.name, Patron.id)))
    if not patrons:
        raise NotFound(_l("No members are registered in class %(name)s.", name=school_class))
    audit.record(actor, "patron.card_print", object_type="library", object_id=school_id, library_id=school_id,
                 details={"class": school_class, "patrons": [p.id for p in patrons]}, now=now)
    return [card_data(p, locale=locale) for p in patrons]


def school_classes(*, actor: Actor) -> list[tuple[Library, str, int]]:
    """(school, class, members) for the school libraries the actor may print cards for."""
    schools = {lib.id: lib for lib in school_libraries(actor=actor)}
    if not schools:
        return []
    rows = db.session.execute(
        select(Patron.school_library_id, Patron.school_class, func.count())
        .where(Patron.school_library_id.in_(list(schools)), Patron.home_library_id == Patron.school_library_id,
               Patron.school_class != "", Patron.status != PatronStatus.ERASED)
        .group_by(Patron.school_library_id, Patron.school_class)
        .order_by(Patron.school_library_id, Patron.school_class)).all()
    return [(schools[school_id], name, count) for school_id, name, count in rows if school_id is not None]

