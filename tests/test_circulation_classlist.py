"""Class lists from schools: CSV and XLSX read into pupils, problems per row, hostile files refused."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook

from circulation.classlist import (ClassList, ClassListColumnMissing, ClassListInvalid, ClassListProblem,
                                   ClassListRow, ClassListTooLarge, ClassListUnreadable, parse_class_list)
from ils.errors import ValidationFailed


def xlsx(*rows: list[Any], title: str = "Sheet", extra: dict[str, list[list[Any]]] | None = None) -> bytes:
    """An XLSX file with ``rows`` on its first sheet (and more sheets in ``extra``)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, other_rows in (extra or {}).items():
        other = book.create_sheet(name)
        for row in other_rows:
            other.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    """The CSV text as an upload would carry it."""
    return text.encode(encoding)


def problems(result: ClassList) -> list[tuple[int, str]]:
    """(line, field) of every problem, in order."""
    return [(p.line, p.field) for p in result.problems]


def test_csv_with_commas_reads_every_field() -> None:
    """A plain comma CSV: all five columns, line numbers as a spreadsheet shows them."""
    data = csv_bytes("Nama,NIS,Kelas,Tanggal Lahir,Jenis Kelamin\n"
                     "Andi Saputra,2301,7A,12/03/2011,L\n"
                     "Rina Wati,2302,7A,2011-04-30,Perempuan\n")
    result = parse_class_list(data, "7a.csv")
    assert result.problems == []
    assert result.rows == [
        ClassListRow(line=2, name="Andi Saputra", nis="2301", school_class="7A", birth_date=date(2011, 3, 12),
                     gender="L"),
        ClassListRow(line=3, name="Rina Wati", nis="2302", school_class="7A", birth_date=date(2011, 4, 30),
                     gender="P"),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_semicolons_tabs_and_commas_are_all_delimiters(delimiter: str) -> None:
    """Indonesian Excel saves CSV with semicolons; "Unicode text" uses tabs."""
    lines = [["Nama Siswa", "NIS", "Kelas"], ["Budi, S", "11", "XI IPA 2"], ["Dewi", "12", "XI IPA 2"]]
    text = "\n".join(delimiter.join(f'"{cell}"' if "," in cell else cell for cell in line) for line in lines)
    result = parse_class_list(csv_bytes(text + "\n"), "list.csv")
    assert [(r.name, r.nis, r.school_class) for r in result.rows] == [("Budi, S", "11", "XI IPA 2"),
                                                                      ("Dewi", "12", "XI IPA 2")]


def test_utf8_bom_is_not_part_of_the_first_header() -> None:
    """Excel's "CSV UTF-8" starts with a BOM; the first column is still recognised."""
    data = "\ufeffNama;NIS\nSiti Aisyah;501\n".encode()
    assert data.startswith(b"\xef\xbb\xbf")
    assert [(r.name, r.nis) for r in parse_class_list(data, "bom.csv").rows] == [("Siti Aisyah", "501")]


def test_windows_1252_file_falls_back_and_keeps_accents() -> None:
    """A CSV saved in the Windows ANSI code page is not UTF-8; its names keep their letters."""
    data = csv_bytes("Nama;NIS\nS\u00edt\u00ed Nur\u2019aini;77\n", "cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert [r.name for r in parse_class_list(data, "ansi.csv").rows] == ["S\u00edt\u00ed Nur\u2019aini"]


def test_utf16_unicode_text_export_is_read() -> None:
    """Excel's "Unicode Text" export: UTF-16 with BOM, tab-separated."""
    data = "Nama\tNIS\nAgus\t9\n".encode("utf-16")
    assert [(r.name, r.nis) for r in parse_class_list(data, "list.txt").rows] == [("Agus", "9")]


@pytest.mark.parametrize("header, field", [
    ("NAMA|NIS|KELAS|TGL. LAHIR|L/P", "upper case and dotted"),
    ("  nama   lengkap |No. Induk|Rombel|Tgl Lahir|JK", "spaces"),
    ("Name|NIS|Class|Date of birth|Gender", "English"),
    ("Nama Siswa*|Nomor Induk|kelas|birth date|jenis_kelamin", "marks and underscores"),
])
def test_headers_are_bilingual_and_forgiving(header: str, field: str) -> None:
    """Header spelling: case, spaces, dots, underscores and required-marks do not matter."""
    data = csv_bytes(header.replace("|", ";") + "\nEko;1;8B;01-02-2010;M\n")
    result = parse_class_list(data, "x.csv")
    assert result.problems == [], field
    assert result.rows == [ClassListRow(line=2, name="Eko", nis="1", school_class="8B",
                                        birth_date=date(2010, 2, 1), gender="L")], field


def test_header_may_follow_blank_and_title_rows() -> None:
    """Blank rows and a title line above the header are skipped; line numbers stay the file's."""
    data = csv_bytes("\n;;\nDAFTAR SISWA KELAS 7A SMPN 1 BONTANG;;\nNama;NIS;Kelas\nIra;3;7A\n")
    result = parse_class_list(data, "x.csv")
    assert [(r.line, r.name) for r in result.rows] == [(5, "Ira")]


def test_nis_column_is_preferred_to_nisn_and_dapodik_names_work() -> None:
    """With both NISN and NIPD (Dapodik's NIS), the school's own number is the NIS."""
    data = csv_bytes("Nama Peserta Didik,NISN,NIPD,Rombel Saat Ini\nTono,0098765432,2201,9C\n")
    assert [(r.nis, r.school_class) for r in parse_class_list(data, "dapodik.csv").rows] == [("2201", "9C")]


@pytest.mark.parametrize("header", ["Kelas,Tanggal Lahir", "Nama,Kelas", "NIS,Kelas", "Andi,123"])
def test_missing_name_or_nis_column_is_a_typed_error(header: str) -> None:
    """Without a name and a NIS column there is nothing to register: a ValidationFailed naming the column."""
    with pytest.raises(ClassListColumnMissing) as caught:
        parse_class_list(csv_bytes(header + "\nx,y\n"), "x.csv")
    assert isinstance(caught.value, ValidationFailed)
    expected = {"Nama,Kelas": "nis"}.get(header, "name")
    assert caught.value.field == expected
    assert ("NIS" if expected == "nis" else "Nama") in caught.value.message


def test_empty_file_has_no_header() -> None:
    """An empty upload says what is missing instead of returning nothing."""
    with pytest.raises(ClassListColumnMissing, match="header"):
        parse_class_list(b"", "empty.csv")


def test_row_problems_are_collected_without_stopping() -> None:
    """Empty name, empty NIS, repeated NIS, bad date and unknown gender are all reported at once."""
    data = csv_bytes("Nama;NIS;Tgl Lahir;L/P\n"
                     "Ani;1;31/12/2010;P\n"    # 2 fine
                     ";2;;\n"                  # 3 no name
                     "Bayu;;;\n"               # 4 no NIS
                     "Cici;1;;P\n"             # 5 NIS of row 2
                     "Dodi;4;31/02/2011;L\n"   # 6 no 31 February: kept, date left empty
                     "Edo;5;kemarin;X\n"       # 7 not a date, not a gender: kept
                     "Fani;6;12/03/11;\n")     # 8 two-digit year is ambiguous
    result = parse_class_list(data, "x.csv")
    assert [(r.line, r.nis) for r in result.rows] == [(2, "1"), (6, "4"), (7, "5"), (8, "6")]
    assert problems(result) == [(3, "name"), (4, "nis"), (5, "nis"), (6, "birth_date"), (7, "birth_date"),
                                (7, "gender"), (8, "birth_date")]
    duplicate = result.problems[2]
    assert duplicate == ClassListProblem(line=5, field="nis", message="The NIS 1 is also on row 2.")
    assert result.rows[1].birth_date is None and result.rows[2].gender == ""


def test_blank_rows_are_skipped_and_not_counted() -> None:
    """Blank and whitespace-only rows between pupils are neither rows nor problems."""
    data = csv_bytes("Nama,NIS\n\nA,1\n , \n,,,\nB,2\n\n")
    result = parse_class_list(data, "x.csv", max_rows=2)
    assert [(r.line, r.name) for r in result.rows] == [(3, "A"), (6, "B")] and result.problems == []


@pytest.mark.parametrize("raw, expected", [
    ("  SITI   NUR'AINI  ", "Siti Nur'aini"),
    ("MUH. RIZKY AL-FATIH", "Muh. Rizky Al-Fatih"),
    ("A.MUH ARIF", "A.Muh Arif"),
    ("Maria de LIMA", "Maria de LIMA"),
    ("budi\u00a0 santoso", "budi santoso"),
])
def test_names_are_normalised_and_title_cased_only_when_all_caps(raw: str, expected: str) -> None:
    """Spacing is tidied; only an ALL CAPS name changes case (mixed case is kept as the school wrote it)."""
    result = parse_class_list(csv_bytes(f"Nama;NIS\n{raw};1\n"), "x.csv")
    assert [r.name for r in result.rows] == [expected]


@pytest.mark.parametrize("text, expected", [
    ("05/06/2011", date(2011, 6, 5)), ("5-6-2011", date(2011, 6, 5)), ("2011-06-05", date(2011, 6, 5)),
    ("2011-06-05 00:00:00", date(2011, 6, 5)), ("5 Juni 2011", date(2011, 6, 5)), ("", None),
])
def test_date_formats(text: str, expected: date | None) -> None:
    """Day first (Indonesian habit), ISO, and written months; an empty cell is no date, not a problem."""
    result = parse_class_list(csv_bytes(f"Nama;NIS;Tanggal Lahir\nA;1;{text}\n"), "x.csv")
    assert result.problems == [] and result.rows[0].birth_date == expected


def test_scientific_notation_nis_is_refused() -> None:
    """A NIS that Excel turned into 1,23E+17 has lost digits; registering it would be wrong."""
    result = parse_class_list(csv_bytes("Nama;NIS\nA;1,23457E+17\n"), "x.csv")
    assert result.rows == [] and problems(result) == [(2, "nis")]


def test_xlsx_numbers_dates_and_text() -> None:
    """XLSX number cells become digits without ".0", date cells become dates, NISN keeps 10 digits."""
    data = xlsx(["No", "Nama", "NIS", "NISN", "Kelas", "Tanggal Lahir", "JK"],
                [1, "ANDI PRATAMA", 2301, 71234567, 7, datetime(2011, 3, 12), "L"],
                [2, "Rina", 2302.0, "0081234567", "7A", "30-04-2011", "p"],
                [3, "Budi", "002303", None, "7A", date(2010, 1, 2), None])
    result = parse_class_list(data, "kelas7.xlsx")
    assert result.problems == []
    assert result.rows == [
        ClassListRow(line=2, name="Andi Pratama", nis="2301", school_class="7", birth_date=date(2011, 3, 12),
                     gender="L"),
        ClassListRow(line=3, name="Rina", nis="2302", school_class="7A", birth_date=date(2011, 4, 30), gender="P"),
        ClassListRow(line=4, name="Budi", nis="002303", school_class="7A", birth_date=date(2010, 1, 2), gender=""),
    ]
    only_nisn = parse_class_list(xlsx(["Nama", "NISN"], ["A", 71234567]), "x.xlsx")
    assert only_nisn.rows[0].nis == "0071234567"


def test_xlsx_line_numbers_count_blank_rows_and_problems_are_collected() -> None:
    """Row numbers are Excel's own, so the librarian finds the row to fix."""
    data = xlsx([None], ["Nama", "NIS"], ["A", 1], [None, None], ["", 2], ["C", 1])
    result = parse_class_list(data, "x.xlsx")
    assert [(r.line, r.nis) for r in result.rows] == [(3, "1")]
    assert problems(result) == [(5, "name"), (6, "nis")]


def test_xlsx_named_sheet() -> None:
    """The first sheet by default; another one by name; an unknown name is a typed error."""
    data = xlsx(["Catatan"], ["bukan daftar"], title="Info", extra={"Kelas 8": [["Nama", "NIS"], ["Lia", 8]]})
    with pytest.raises(ClassListColumnMissing):
        parse_class_list(data, "x.xlsx")
    assert [r.name for r in parse_class_list(data, "x.xlsx", sheet="Kelas 8").rows] == ["Lia"]
    with pytest.raises(ClassListUnreadable) as caught:
        parse_class_list(data, "x.xlsx", sheet="Kelas 9")
    assert caught.value.field == "sheet"


def test_xlsx_is_recognised_by_content_whatever_its_name() -> None:
    """A workbook uploaded as .csv is still read as a workbook."""
    assert len(parse_class_list(xlsx(["Nama", "NIS"], ["A", 1]), "list.csv").rows) == 1


@pytest.mark.parametrize("data", [
    b"this is not a workbook at all",
    b"PK\x03\x04" + b"\x00" * 200,
    bytes(range(256)) * 40,
], ids=["text", "broken-zip", "binary"])
def test_garbage_named_xlsx_is_a_typed_error(data: bytes) -> None:
    """A file that only claims to be XLSX gives a clear error, never a crash."""
    with pytest.raises(ClassListUnreadable) as caught:
        parse_class_list(data, "kelas.xlsx")
    assert isinstance(caught.value, ValidationFailed) and caught.value.field == "file"


def test_zip_that_is_not_a_workbook_is_a_typed_error() -> None:
    """A valid zip without a workbook inside."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ClassListUnreadable):
        parse_class_list(out.getvalue(), "kelas.xlsx")


def test_workbook_with_a_broken_sheet_is_a_typed_error() -> None:
    """A real workbook whose sheet XML is damaged fails while reading rows, still as a typed error."""
    source = zipfile.ZipFile(io.BytesIO(xlsx(["Nama", "NIS"], ["A", 1])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body[: len(body) // 2]
            archive.writestr(info, body)
    with pytest.raises(ClassListUnreadable):
        parse_class_list(out.getvalue(), "kelas.xlsx")


def test_zip_bomb_is_refused_before_unpacking() -> None:
    """A small upload that would inflate to a huge sheet is refused from the zip directory alone."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * 20_000_000)
    data = out.getvalue()
    assert len(data) < 100_000
    with pytest.raises(ClassListTooLarge):
        parse_class_list(data, "kelas.xlsx", max_bytes=200_000)


def test_old_excel_and_binary_csv_are_refused() -> None:
    """.xls cannot be read (ask for .xlsx); a binary file named .csv is not taken as text."""
    with pytest.raises(ClassListUnreadable, match=r"\.xls"):
        parse_class_list(b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "kelas.XLS")
    with pytest.raises(ClassListUnreadable):
        parse_class_list(b"Nama,NIS\x00\x00\x01", "kelas.csv")


def test_damaged_csv_is_a_typed_error() -> None:
    """A field beyond the csv module's limit (a runaway quote) reports the row."""
    with pytest.raises(ClassListUnreadable, match="row 2"):
        parse_class_list(csv_bytes('Nama,NIS\n"' + "a" * 200_000 + "\n"), "x.csv")


def test_too_many_rows_or_bytes_are_typed_errors() -> None:
    """Limits protect the server; the message tells the librarian to split the file."""
    body = "Nama,NIS\n" + "".join(f"P{n},{n}\n" for n in range(1, 6))
    assert len(parse_class_list(csv_bytes(body), "x.csv", max_rows=5).rows) == 5
    with pytest.raises(ClassListTooLarge, match="5 pupils"):
        parse_class_list(csv_bytes(body + "P6,6\n"), "x.csv", max_rows=5)
    with pytest.raises(ClassListTooLarge, match="split"):
        parse_class_list(csv_bytes(body), "x.csv", max_bytes=20)
    rows = [["Nama", "NIS"]] + [[f"P{n}", n] for n in range(1, 8)]
    with pytest.raises(ClassListTooLarge):
        parse_class_list(xlsx(*rows), "x.xlsx", max_rows=6)
    assert issubclass(ClassListTooLarge, ClassListInvalid) and issubclass(ClassListInvalid, ValidationFailed)


def test_openpyxl_warnings_neither_escape_nor_fail_the_upload() -> None:
    """A date cell Excel cannot show makes openpyxl warn; the row gets a date problem, the run no warning."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Nama", "NIS", "Tanggal Lahir"])
    sheet.append(["A", 1, 10**10])
    sheet["C2"].number_format = "dd/mm/yyyy"
    out = io.BytesIO()
    book.save(out)
    result = parse_class_list(out.getvalue(), "x.xlsx")  # -W error: a leaked warning would raise here
    assert [r.nis for r in result.rows] == ["1"] and problems(result) == [(2, "birth_date")]
