"""Patron forms: search, registration and edit, block, PIN, erasure, class-list upload."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from ils.forms import IlsForm, choices
from ils.models import Library

GENDERS = (("", _l("Not given")), ("L", _l("Male (L)")), ("P", _l("Female (P)")))
NOTICE_CHANNELS = (("email", _l("E-mail")), ("webhook", _l("WhatsApp / SMS")), ("none", _l("No notices")))
LOCALES = (("id", "Bahasa Indonesia"), ("en", "English"))
# Sent to the service as they are; the form-only fields (NIK, PIN, guardian card, consent) go separately.
DATA_FIELDS = ("name", "category_code", "birth_date", "gender", "guardian_name", "guardian_phone", "phone",
               "whatsapp", "email", "address", "kelurahan", "kecamatan", "institution", "nis", "school_class",
               "notice_channel", "locale", "history_opt_in", "notes")


class SecretField(StringField):
    """A text input that never writes its value back into the page (NIK: typed, not shown again)."""

    def _value(self) -> str:
        return ""


class PatronSearchForm(IlsForm):
    """Find a member by card number, name or NIS (POSTed: names stay out of URLs and logs)."""

    q = StringField(_l("Card number, name or NIS"), validators=[Optional(), Length(max=100)],
                    render_kw={"autocomplete": "off", "autofocus": True})


class PatronForm(IlsForm):
    """Register a member at the desk, or edit one."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    category_code = SelectField(_l("Member category"), choices=[])
    home_library_id = SelectField(_l("Home library"), coerce=int, choices=[])
    birth_date = DateField(_l("Birth date"), validators=[Optional()])
    gender = SelectField(_l("Gender"), choices=choices(GENDERS), default="")
    nik = SecretField(_l("NIK (optional)"), validators=[Optional(), Length(max=30)],
                      render_kw={"autocomplete": "off", "inputmode": "numeric"},
                      description=_l("Only where a regulation asks for it. Stored encrypted; only the last four "
                                     "digits are ever shown."))
    clear_nik = BooleanField(_l("Remove the stored NIK"))
    guardian_card = StringField(_l("Guardian's card number (if a member)"), validators=[Optional(), Length(max=40)])
    guardian_name = StringField(_l("Parent or guardian"), validators=[Optional(), Length(max=200)])
    guardian_phone = StringField(_l("Guardian's phone"), validators=[Optional(), Length(max=40)])
    guardian_consent = BooleanField(_l("The parent or guardian has given written consent (required under 18)"))
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    whatsapp = BooleanField(_l("This number uses WhatsApp"))
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=1000)])
    kelurahan = StringField(_l("Kelurahan"), validators=[Optional(), Length(max=100)])
    kecamatan = StringField(_l("Kecamatan"), validators=[Optional(), Length(max=100)])
    institution = StringField(_l("School or employer"), validators=[Optional(), Length(max=200)])
    nis = StringField(_l("NIS (pupil number)"), validators=[Optional(), Length(max=30)])
    school_class = StringField(_l("Class"), validators=[Optional(), Length(max=30)])
    school_library_id = SelectField(_l("School library"), coerce=int, choices=[], default=0)
    notice_channel = SelectField(_l("Notices by"), choices=choices(NOTICE_CHANNELS), default="email")
    locale = SelectField(_l("Language of notices"), choices=choices(LOCALES), default="id")
    history_opt_in = BooleanField(_l("The member asks us to keep a list of returned loans"))
    notes = TextAreaField(_l("Staff notes"), validators=[Optional(), Length(max=2000)])
    pin = PasswordField(_l("PIN for the OPAC and self-check (4-8 digits, optional)"),
                        validators=[Optional(), Regexp(r"^\d{4,8}$", message=_l("The PIN must be 4 to 8 digits."))],
                        render_kw={"autocomplete": "new-password", "inputmode": "numeric"})

    def __init__(self, *args: Any, categories: list[tuple[str, str]], libraries: list[Library] | None,
                 schools: list[Library], creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category_code.choices = choices(categories)
        if libraries is None:  # library staff register at their own library
            del self.home_library_id
        else:
            self.home_library_id.choices = choices((lib.id, f"{lib.code} · {lib.name}") for lib in libraries)
        self.school_library_id.choices = choices([(0, _l("(none)"))] + [(s.id, s.name) for s in schools])
        if creating:
            del self.clear_nik
        else:
            del self.pin  # set through its own form, never together with other changes

    def to_data(self, guardian_id: int | None) -> dict[str, Any]:
        """The service's ``data``: plain values, ids for the libraries and the guardian."""
        data = {name: getattr(self, name).data for name in DATA_FIELDS}
        data["whatsapp"] = bool(data["whatsapp"])
        data["history_opt_in"] = bool(data["history_opt_in"])
        for key in ("name", "guardian_name", "guardian_phone", "phone", "email", "address", "kelurahan",
                    "kecamatan", "institution", "nis", "school_class", "notes"):
            data[key] = (data[key] or "").strip()
        data["school_library_id"] = self.school_library_id.data or None
        data["guardian_id"] = guardian_id
        if self.home_library_id is not None:
            data["home_library_id"] = self.home_library_id.data
        return data


class BlockForm(IlsForm):
    """Block a card with a reason, or lift the block."""

    # Explicit ids: the block, PIN and erase forms share one page.
    blocked = HiddenField(default="1", validators=[DataRequired(), Regexp(r"^[01]$")], id="block_blocked")
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=300)], id="block_reason")


class PinForm(IlsForm):
    """Set a new PIN for the member (at their request, in person)."""

    pin = PasswordField(_l("New PIN (4-8 digits)"),
                        validators=[DataRequired(), Regexp(r"^\d{4,8}$", message=_l("The PIN must be 4 to 8 digits."))],
                        render_kw={"autocomplete": "new-password", "inputmode": "numeric"}, id="pin_new")
    confirm = PasswordField(_l("Repeat the PIN"),
                            validators=[DataRequired(), EqualTo("pin", message=_l("The PINs do not match."))],
                            render_kw={"autocomplete": "new-password", "inputmode": "numeric"}, id="pin_confirm")


class EraseForm(IlsForm):
    """Erase a member's personal data (UU PDP): a reason and an explicit confirmation."""

    reason = StringField(_l("Reason (e.g. the member's written request of 12-03-2026)"),
                         validators=[DataRequired(), Length(max=300)], id="erase_reason")
    confirm = BooleanField(_l("I understand that the name, contact details, NIK, PIN, photo and consents are "
                              "deleted for good and cannot be restored."), validators=[DataRequired()],
                           id="erase_confirm")


class ClassListForm(IlsForm):
    """Upload a school's class list."""

    file = FileField(_l("Class list (.csv or .xlsx, e.g. a Dapodik export)"), validators=[FileRequired()])
    library_id = SelectField(_l("School library"), coerce=int, choices=[], validate_choice=False)
    consent = BooleanField(_l("The school has collected the parents' signed consent forms"),
                           description=_l("Without them, the pupils' cards wait for approval until a parent's "
                                          "consent is recorded."))

    def for_actor(self, network_wide: bool, schools: list[Library]) -> "ClassListForm":
        """Network-wide staff choose the school; school staff always import for their own library."""
        if network_wide:
            self.library_id.choices = choices((lib.id, f"{lib.code} · {lib.name}") for lib in schools)
        else:
            del self.library_id
        return self


class PhotoForm(IlsForm):
    """Upload (or remove) a member's card photo."""

    photo = FileField(_l("Photo (JPEG, PNG or WebP)"))
    remove = BooleanField(_l("Remove the photo"))
