"""Class lists sent by schools (CSV or XLSX) read into rows for bulk library-card registration.

Pure: bytes in, plain values out; no app, no database. Problems in single rows are collected so the
librarian can fix them all at once; only a file that cannot be read as a whole raises.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ils.errors import ValidationFailed

Cell = str | int | float | date | datetime | bool | None

# Header spellings after _header_key(); the first alias listed wins when a sheet has two (NIS and NISN).
# NIPD and "rombel saat ini" are what Dapodik (the schools' national database) exports.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("nama", "nama siswa", "nama lengkap", "name", "nama peserta didik"),
    "nis": ("nis", "nipd", "no induk", "nomor induk", "no induk siswa", "nomor induk siswa", "nisn"),
    "school_class": ("kelas", "rombel", "class", "rombel saat ini"),
    "birth_date": ("tanggal lahir", "tgl lahir", "birth date", "date of birth"),
    "gender": ("jenis kelamin", "jk", "l/p", "gender"),
}
GENDERS = {"l": "L", "laki-laki": "L", "laki laki": "L", "lk": "L", "m": "L", "male": "L", "pria": "L",
           "p": "P", "perempuan": "P", "pr": "P", "f": "P", "female": "P", "wanita": "P"}
MONTHS = {name: number for number, names in enumerate((
    "jan januari january|feb februari pebruari february|mar maret march|apr april|mei may|jun juni june|"
    "jul juli july|agu agt agustus aug august|sep sept september|okt oktober oct october|nov nopember november|"
    "des desember dec december").split("|"), start=1) for name in names.split()}
DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")
D_MONTH_Y = re.compile(r"(\d{1,2})[ -]([^\W\d_]+)\.?[ -](\d{4})")
SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?[eE]\+?\d+")
HEADER_SEARCH = 10  # a title line or two ("DAFTAR SISWA KELAS 7A") may sit above the header
MAX_COLUMNS = 64
# XLSX is a zip: refuse one that would unpack far beyond what a real class list needs (zip bombs).
XLSX_EXPANSION = 30
XLSX_SUFFIXES = (".xlsx", ".xlsm")


class ClassListInvalid(ValidationFailed):
    """The class list as a whole cannot be used; the message says what to fix."""

    default_message = _l("The class list could not be read.")


class ClassListUnreadable(ClassListInvalid):
    """The file is not a CSV or XLSX file that can be opened."""


class ClassListColumnMissing(ClassListInvalid):
    """A required column (name or NIS) has no recognisable header."""


class ClassListTooLarge(ClassListInvalid):
    """The file has more bytes or rows than one upload may."""


@dataclass(frozen=True)
class ClassListRow:
    """One pupil of the class list."""

    line: int  # 1-based row number in the file as the user sees it (header = 1)
    name: str
    nis: str  # Nomor Induk Siswa, kept as text
    school_class: str
    birth_date: date | None
    gender: str  # "L", "P" or ""


@dataclass(frozen=True)
class ClassListProblem:
    """Something wrong in one row, for the librarian to fix in the file."""

    line: int
    field: str
    message: str


@dataclass
class ClassList:
    """The usable rows of a class list and the problems found in the others."""

    rows: list[ClassListRow]
    problems: list[ClassListProblem]


def parse_class_list(data: bytes, filename: str, *, max_rows: int = 5000, max_bytes: int = 5_000_000,
                     sheet: str | None = None) -> ClassList:
    """Read a class list; rows with no name, no NIS or a repeated NIS are left out and reported.

    A bad birth date or gender keeps the row (the value left empty) and is reported too.
    ``sheet`` names the XLSX worksheet to read (default: the first).
    """
    if len(data) > max_bytes:
        raise ClassListTooLarge(_("The file is larger than %(size)s MB; split the class list into smaller files.",
                                  size=f"{max_bytes / 1_000_000:g}"), field="file")
    name = filename.lower()
    # By content first: a workbook renamed to .csv or .xls is still a workbook.
    if data.startswith(b"PK\x03\x04") or name.endswith(XLSX_SUFFIXES):
        return _read(_xlsx_rows(data, sheet=sheet, max_unpacked=max_bytes * XLSX_EXPANSION), max_rows=max_rows)
    if name.endswith(".xls"):
        raise ClassListUnreadable(_("Old Excel files (.xls) cannot be read; save the class list as .xlsx or .csv."),
                                  field="file")
    return _read(_csv_rows(data), max_rows=max_rows)


# --- reading the file ---------------------------------------------------------------------------

def _xlsx_rows(data: bytes, *, sheet: str | None, max_unpacked: int) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """The rows of one worksheet, numbered as Excel shows them."""
    from openpyxl import load_workbook  # only uploads need it; keeps the app start light

    unreadable = ClassListUnreadable(_("The file is not a valid Excel (.xlsx) workbook; open it in a spreadsheet "
                                       "program and save it again as .xlsx or .csv."), field="file")
    book = None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # zipfile never inflates an entry past its declared size, so the declared sizes bound the work.
            if sum(info.file_size for info in archive.infolist()) > max_unpacked:
                raise ClassListTooLarge(_("The workbook is too large when unpacked; split the class list into "
                                          "smaller files."), field="file")
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not matter for the values.
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            if sheet is not None and sheet not in book.sheetnames:
                raise ClassListUnreadable(_("The workbook has no sheet named %(sheet)s.", sheet=sheet), field="sheet")
            worksheet = book[sheet] if sheet is not None else book.worksheets[0]
            # Some programs write a wrong used range; without this, rows past it would be silently dropped.
            worksheet.reset_dimensions()  # (a chart sheet has no such method: it is unreadable too)
            rows = worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        number = 0
        while True:
            with warnings.catch_warnings():  # per batch, so the filter is never left on while the caller runs
                warnings.simplefilter("ignore")
                batch = list(itertools.islice(rows, 1000))
            if not batch:
                return
            for values in batch:
                number += 1
                yield number, values
    except ClassListInvalid:
        raise
    # A damaged or hostile workbook can fail anywhere inside zipfile or openpyxl, with almost any exception type.
    except Exception as error:  # noqa: BLE001
        raise unreadable from error
    finally:
        if book is not None:
            book.close()


def _decode(data: bytes) -> str:
    """Text of a CSV file: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page, which is Windows-1252 in Indonesia.
        return data.decode("cp1252", errors="replace")


def _csv_rows(data: bytes) -> Iterator[tuple[int, tuple[Cell, ...]]]:
    """The records of a CSV file, numbered as a spreadsheet shows them, in the likeliest delimiter."""
    text = _decode(data)
    if "\x00" in text:
        raise ClassListUnreadable(_("The file is not a CSV or Excel (.xlsx) file."), field="file")
    sample = text[:20_000].splitlines()[:HEADER_SEARCH + 5]

    def score(delimiter: str) -> tuple[int, int]:
        rows = list(csv.reader(sample, delimiter=delimiter))
        known = max((len(_columns(row)) for row in rows), default=0)
        return known, max((len(row) for row in rows), default=0)

    delimiter = max((",", ";", "\t"), key=score)
    number = 0
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            yield number, tuple(record[:MAX_COLUMNS])
    except csv.Error as error:
        raise ClassListUnreadable(_("The CSV file is damaged near row %(line)s.", line=number + 1),
                                  field="file") from error


# --- from rows to pupils ------------------------------------------------------------------------

def _header_key(value: Cell) -> str:
    text = str(value or "").lower().replace("_", " ").replace(".", " ").strip(" *:")
    return " ".join(text.split())


def _columns(header: Iterable[Cell]) -> dict[str, int]:
    """Field -> column index for the recognised cells of a header row."""
    found: dict[str, tuple[int, int]] = {}  # field -> (alias rank, column)
    for column, value in enumerate(header):
        key = _header_key(value)
        for field, aliases in ALIASES.items():
            if key in aliases and (field not in found or aliases.index(key) < found[field][0]):
                found[field] = (aliases.index(key), column)
    return {field: column for field, (_rank, column) in found.items()}


def _text(value: Cell) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # XLSX stores numbers as floats: 12345.0 is the NIS "12345"
    return " ".join(str(value).split()) if value is not None else ""


def _blank(values: tuple[Cell, ...]) -> bool:
    # count() first: padding rows of empty cells in a sparse sheet can number a million
    return values.count(None) == len(values) or all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _name(value: Cell) -> str:
    """Whitespace-normalised; an ALL CAPS name in title case (apostrophes do not start a word)."""
    name = _text(value)
    if not name.isupper():
        return name
    return re.sub(r"(^|[^\w'’])(\w)", lambda m: m.group(1) + m.group(2).upper(), name.lower())


def _nis(value: Cell, column_key: str) -> str:
    nis = _text(value).replace(" ", "")
    # NISN is always 10 digits; a number cell has lost its leading zeros.
    if column_key == "nisn" and isinstance(value, (int, float)) and nis.isdigit():
        nis = nis.zfill(10)
    return nis


def _date(value: Cell) -> date | None:
    """A date cell or text as dd/mm/yyyy, dd-mm-yyyy, yyyy-mm-dd or "12 Maret 2011"; ValueError if not."""
    if isinstance(value, date):  # a date cell (openpyxl gives a datetime)
        return value.date() if isinstance(value, datetime) else value
    text = _text(value).lower()
    if not text:
        return None
    if match := DMY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := YMD.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif (match := D_MONTH_Y.fullmatch(text)) and match.group(2) in MONTHS:
        day, month, year = int(match.group(1)), MONTHS[match.group(2)], int(match.group(3))
    else:
        raise ValueError(text)
    return date(year, month, day)


def _gender(value: Cell) -> str | None:
    text = _text(value).lower()
    return GENDERS.get(text) if text else ""


def _pupil(number: int, values: tuple[Cell, ...], header: dict[str, int], nis_key: str,
           first_line: dict[str, int], problems: list[ClassListProblem]) -> ClassListRow | None:
    """One row as a pupil (None when it cannot be registered), its problems added to ``problems``."""

    def cell(field: str) -> Cell:
        column = header.get(field)
        return values[column] if column is not None and column < len(values) else None

    def problem(field: str, message: str) -> None:
        problems.append(ClassListProblem(line=number, field=field, message=message))

    name, nis = _name(cell("name")), _nis(cell("nis"), nis_key)
    usable = bool(name and nis)
    if not name:
        problem("name", _("The name is empty."))
    if not nis:
        problem("nis", _("The NIS is empty."))
    elif SCIENTIFIC.fullmatch(nis):
        # Excel shows long numbers as 1,23E+17 and saves them so in CSV: the digits are gone.
        problem("nis", _("The NIS %(nis)s was rounded by the spreadsheet; format the column as text and type the "
                         "NIS again.", nis=nis))
        usable = False
    elif nis in first_line:
        problem("nis", _("The NIS %(nis)s is also on row %(line)s.", nis=nis, line=first_line[nis]))
        usable = False
    elif usable:
        first_line[nis] = number
    try:
        birth_date = _date(cell("birth_date"))
    except ValueError:
        birth_date = None
        problem("birth_date", _("The birth date %(value)s is not a date; write it as dd-mm-yyyy.",
                                value=_text(cell("birth_date"))))
    gender = _gender(cell("gender"))
    if gender is None:
        problem("gender", _("The gender %(value)s is not L or P.", value=_text(cell("gender"))))
    if not usable:
        return None
    return ClassListRow(line=number, name=name, nis=nis, school_class=_text(cell("school_class")),
                        birth_date=birth_date, gender=gender or "")


def _read(lines: Iterator[tuple[int, tuple[Cell, ...]]], *, max_rows: int) -> ClassList:
    """Find the header, then turn every following non-blank row into a pupil or problems."""
    header: dict[str, int] | None = None
    nis_key = ""
    best: dict[str, int] = {}
    candidates = pupils = 0
    result = ClassList(rows=[], problems=[])
    first_line: dict[str, int] = {}  # NIS -> row where it first appeared
    for number, values in lines:
        if _blank(values):
            continue
        if header is None:
            columns = _columns(values)
            if "name" in columns and "nis" in columns:
                header, nis_key = columns, _header_key(values[columns["nis"]])
                continue
            best = max(best, columns, key=len)
            candidates += 1
            if candidates >= HEADER_SEARCH:
                break
            continue
        pupils += 1
        if pupils > max_rows:
            raise ClassListTooLarge(_("The class list has more than %(count)s pupils; split it into smaller files.",
                                      count=max_rows), field="file")
        row = _pupil(number, values, header, nis_key, first_line, result.problems)
        if row is not None:
            result.rows.append(row)
    if header is None and "name" in best:
        raise ClassListColumnMissing(_("The class list has no NIS column; add a column headed \"NIS\"."), field="nis")
    if header is None and "nis" in best:
        raise ClassListColumnMissing(_("The class list has no name column; add a column headed \"Nama\"."),
                                     field="name")
    if header is None:
        raise ClassListColumnMissing(_("No header row was found; the first row must name the columns, for example "
                                       "\"Nama\", \"NIS\", \"Kelas\"."), field="name")
    return result
