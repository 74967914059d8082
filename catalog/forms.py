"""Catalog forms: quick cataloguing, copies, the MARC editor, import, merge, settings."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from catalog.build import QuickEntry
from catalog.models import ITEM_TYPE_LABELS, SOURCE_LABELS, AcquisitionSource, ItemType
from catalog.services.items import ItemInput
from ils.forms import IlsForm, choices

LANGUAGE_LABELS = (("ind", _l("Indonesian")), ("eng", _l("English")), ("jav", _l("Javanese")),
                   ("sun", _l("Sundanese")), ("bug", _l("Buginese")), ("ban", _l("Banjarese")),
                   ("min", _l("Minangkabau")), ("may", _l("Malay")), ("ara", _l("Arabic")), ("dut", _l("Dutch")),
                   ("chi", _l("Chinese")), ("jpn", _l("Japanese")), ("und", _l("Other / unknown")))
AUDIENCES = (("", _l("General")), ("anak", _l("Children")), ("remaja", _l("Teenagers")), ("umum", _l("Adults")))
COLLECTIONS = ("Umum", "Anak", "Remaja", "Referensi", "Fiksi", "Terbitan Berkala", "Koleksi Lokal")


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ItemFieldsMixin:
    """Fields of one copy (used alone and under the quick form)."""

    barcode = StringField(_l("Barcode"), validators=[Optional(), Length(max=40)],
                          description=_l("Scan the label; leave empty to number it automatically."))
    accession_number = StringField(_l("Accession number (nomor induk)"), validators=[Optional(), Length(max=60)],
                                   description=_l("Leave empty to take the next number of your library."))
    collection = StringField(_l("Collection / shelf"), validators=[Optional(), Length(max=60)])
    item_type = SelectField(_l("Item type"), choices=choices((t.value, label) for t, label in ITEM_TYPE_LABELS.items()),
                            default=ItemType.BUKU.value)
    source = SelectField(_l("Acquired by"), choices=choices((s.value, label) for s, label in SOURCE_LABELS.items()),
                         default=AcquisitionSource.PEMBELIAN.value)
    price = IntegerField(_l("Price (rupiah)"), validators=[Optional(), NumberRange(min=0, max=1_000_000_000)])
    acquired_on = DateField(_l("Date acquired"), validators=[Optional()])
    item_notes = StringField(_l("Note on this copy"), validators=[Optional(), Length(max=500)])
    lendable_network = BooleanField(_l("Patrons of other libraries may borrow it"), default=True)

    def item_input(self) -> ItemInput:
        """The copy as service input."""
        return ItemInput(barcode=(self.barcode.data or "").strip(),  # type: ignore[attr-defined]
                         accession_number=(self.accession_number.data or "").strip(),  # type: ignore[attr-defined]
                         collection=(self.collection.data or "").strip(),  # type: ignore[attr-defined]
                         item_type=ItemType(self.item_type.data), source=AcquisitionSource(self.source.data),  # type: ignore[attr-defined]
                         price=self.price.data, acquired_on=self.acquired_on.data,  # type: ignore[attr-defined]
                         notes=(self.item_notes.data or "").strip(),  # type: ignore[attr-defined]
                         lendable_network=bool(self.lendable_network.data))  # type: ignore[attr-defined]


class QuickRecordForm(ItemFieldsMixin, IlsForm):
    """The quick cataloguing form: no MARC knowledge needed."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=500)])
    subtitle = StringField(_l("Subtitle"), validators=[Optional(), Length(max=500)])
    authors = TextAreaField(_l("Authors (one per line, \"Surname, Forename\")"), validators=[Optional()],
                            description=_l("The first one is the main author. A single name (e.g. Sukarno) as is."))
    editors = TextAreaField(_l("Editors (one per line)"), validators=[Optional()])
    corporate_author = StringField(_l("Organisation as author"), validators=[Optional(), Length(max=300)])
    publisher = StringField(_l("Publisher"), validators=[Optional(), Length(max=300)])
    place = StringField(_l("Place of publication"), validators=[Optional(), Length(max=200)])
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(min=1000, max=2100)])
    edition = StringField(_l("Edition"), validators=[Optional(), Length(max=200)])
    isbn = StringField(_l("ISBN"), validators=[Optional(), Length(max=30)])
    pages = IntegerField(_l("Pages"), validators=[Optional(), NumberRange(min=1, max=100_000)])
    illustrations = BooleanField(_l("Illustrated"))
    height_cm = IntegerField(_l("Height (cm)"), validators=[Optional(), NumberRange(min=1, max=200)])
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_LABELS), default="ind")
    subjects = TextAreaField(_l("Subjects (one per line; \"Topic -- Subtopic\")"), validators=[Optional()])
    ddc = StringField(_l("DDC class number"), validators=[Optional(), Length(max=40)])
    series = StringField(_l("Series"), validators=[Optional(), Length(max=300)])
    series_number = StringField(_l("Number in series"), validators=[Optional(), Length(max=30)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    audience = SelectField(_l("Readers"), choices=choices(AUDIENCES), default="")
    fiction = BooleanField(_l("Fiction (novel, stories, poems)"))
    serial = BooleanField(_l("Magazine or other serial"))
    add_item = BooleanField(_l("Add a copy for my library now"), default=True)

    def entry(self) -> QuickEntry:
        """The form as a QuickEntry."""
        return QuickEntry(
            title=self.title.data.strip(), subtitle=(self.subtitle.data or "").strip(),
            authors=_lines(self.authors.data), editors=_lines(self.editors.data),
            corporate_author=(self.corporate_author.data or "").strip(), publisher=(self.publisher.data or "").strip(),
            place=(self.place.data or "").strip(), year=self.year.data, edition=(self.edition.data or "").strip(),
            isbn=(self.isbn.data or "").strip(), pages=self.pages.data, illustrations=bool(self.illustrations.data),
            height_cm=self.height_cm.data, language=self.language.data, subjects=_lines(self.subjects.data),
            ddc=(self.ddc.data or "").strip(), series=(self.series.data or "").strip(),
            series_number=(self.series_number.data or "").strip(), notes=(self.notes.data or "").strip(),
            audience=self.audience.data, fiction=bool(self.fiction.data), serial=bool(self.serial.data))


class ItemForm(ItemFieldsMixin, IlsForm):
    """Add or edit one copy."""

    call_class = StringField(_l("Call number: class"), validators=[Optional(), Length(max=40)])
    call_author = StringField(_l("Call number: author mark"), validators=[Optional(), Length(max=20)])
    call_title = StringField(_l("Call number: title letter"), validators=[Optional(), Length(max=10)])
    public = BooleanField(_l("Shown in the public catalogue"), default=True)

    def changes(self) -> dict[str, Any]:
        """Values for update_item."""
        data = self.item_input()
        return {"barcode": data.barcode, "accession_number": data.accession_number,
                "collection": data.collection or "Umum", "item_type": data.item_type, "source": data.source,
                "price": data.price, "acquired_on": data.acquired_on, "notes": data.notes,
                "lendable_network": data.lendable_network, "public": bool(self.public.data),
                "call_class": (self.call_class.data or "").strip(), "call_author": (self.call_author.data or "").strip(),
                "call_title": (self.call_title.data or "").strip()}


class ScanForm(IlsForm):
    """Scan an ISBN or type a title (copy cataloguing inside the network)."""

    class Meta:
        csrf = False  # a GET search form: it changes nothing

    q = StringField(_l("ISBN or title"), validators=[DataRequired(), Length(max=200)])


class MarcForm(IlsForm):
    """The MARC editor: the record as text lines (the grid writes the same text)."""

    marc = TextAreaField(_l("MARC record"), validators=[DataRequired(), Length(max=500_000)])
    version = IntegerField(validators=[Optional()])
    note = StringField(_l("What did you change? (kept in the history)"), validators=[Optional(), Length(max=300)])


class WithdrawForm(IlsForm):
    """Withdraw (weed) a copy."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class MergeForm(IlsForm):
    """Merge a duplicate record into this one."""

    other_id = IntegerField(_l("Number of the duplicate record"), validators=[DataRequired(), NumberRange(min=1)])
    confirm = BooleanField(_l("I have compared both records: move the duplicate's copies here and delete it."))


class ImportForm(IlsForm):
    """Upload a MARC file."""

    file = FileField(_l("MARC file (.mrc, .xml, .json, .mrk)"), validators=[FileRequired()])
    format = SelectField(_l("Format"), default="auto", choices=choices(
        (("auto", _l("Detect automatically")), ("iso2709", "ISO 2709 (.mrc)"), ("marcxml", "MARCXML"),
         ("json", "MARC-in-JSON"), ("mrk", "MARCMaker (.mrk)"))))
    encoding = SelectField(_l("Character encoding"), default="auto", choices=choices(
        (("auto", _l("Detect per record (recommended)")), ("utf-8", "UTF-8"), ("marc-8", "MARC-8"),
         ("cp1251", "Windows-1251"), ("cp1252", "Windows-1252"), ("latin-1", "Latin-1"))))
    on_match = SelectField(_l("When a record is already in the catalog"), default="items", choices=choices(
        (("items", _l("Keep the catalog's record, add my copies")),
         ("replace", _l("Replace the record with the file's version (history kept)")))))
    dry_run = BooleanField(_l("Test only: report what would happen, store nothing"))
    library_id = SelectField(_l("Library whose copies these are"), coerce=int, choices=[], validate_choice=False)

    def for_actor(self, network_wide: bool, libraries: list[Any]) -> "ImportForm":
        """Network-wide staff choose the library; library staff always import for their own."""
        if network_wide:
            self.library_id.choices = choices((lib.id, f"{lib.code} · {lib.name}") for lib in libraries)
        else:
            del self.library_id
        return self


class SettingsForm(IlsForm):
    """A library's catalog settings."""

    accession_pattern = StringField(_l("Accession number pattern"), validators=[DataRequired(), Length(max=80)],
                                    description=_l("{seq:05d} is the running number; {code}, {yyyy}, {yy} and {mm} "
                                                   "are the library code, year and month."))
    barcode_prefix = StringField(_l("Barcode prefix for numbered copies"), validators=[DataRequired(),
                                                                                      Length(max=20)])
    default_collection = StringField(_l("Default collection"), validators=[DataRequired(), Length(max=60)])
    items_public = BooleanField(_l("New copies are shown in the public catalogue"))
