"""WTForms for the core screens. Every form carries a CSRF token (Flask-WTF)."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from ils.models import LIBRARY_TYPE_LABELS, ROLE_LABELS, WEEKDAYS, Library, Role, StaffUser
from ils.passwords import MIN_LENGTH

WEEKDAY_LABELS = {
    "mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"), "thu": _l("Thursday"),
    "fri": _l("Friday"), "sat": _l("Saturday"), "sun": _l("Sunday"),
}
INTERVAL_RE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*$")


# WTForms' own messages that our forms can show. WTForms ships no Indonesian translation, so
# they are listed here for extraction into our catalog and translated through IlsForm.Meta.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Invalid email address."),
    _l("Invalid Choice: could not coerce."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    lazy_ngettext("Field must be at least %(min)d character long.",
                  "Field must be at least %(min)d characters long.", 1),
    lazy_ngettext("Field cannot be longer than %(max)d character.",
                  "Field cannot be longer than %(max)d characters.", 1),
    _l("Field must be equal to %(other_name)s."),
)


class _CatalogTranslations:
    """WTForms translations from our own catalog (no formatting: WTForms formats itself)."""

    def gettext(self, string: str) -> str:  # noqa: D102 - WTForms protocol
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:  # noqa: D102 - WTForms protocol
        return get_translations().ungettext(singular, plural, n)


class IlsForm(FlaskForm):
    """Base of every form: CSRF from Flask-WTF, messages in the user's language."""

    class Meta:
        def get_translations(self, form: Any) -> _CatalogTranslations:  # noqa: D102 - WTForms hook
            return _CatalogTranslations()


def choices(pairs: Any) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice objects (tuples are deprecated in 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


LANGUAGE_CHOICES = (("id", "Bahasa Indonesia"), ("en", "English"))


def parse_hours(text: str) -> list[list[str]]:
    """"08:00-12:00, 13:00-16:00" -> [["08:00","12:00"], ["13:00","16:00"]]; empty = closed."""
    intervals = []
    for part in filter(None, (p.strip() for p in (text or "").replace(";", ",").split(","))):
        match = INTERVAL_RE.match(part)
        if not match:
            raise ValidationError(_l("Use the form 08:00-16:00; separate several periods with commas."))
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValidationError(_l("Use the form 08:00-16:00; separate several periods with commas."))
        intervals.append([f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"])
    return intervals


def format_hours(intervals: list[list[str]]) -> str:
    """The inverse of parse_hours."""
    return ", ".join(f"{a}-{b}" for a, b in intervals or [])


def _library_label(library: Library) -> str:
    label = f"{library.name} ({library.code})"
    return label if library.active else f"{label} [{_l('inactive')}]"


class LoginForm(IlsForm):
    """Staff login."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})


class PostForm(IlsForm):
    """An empty form: a button that POSTs with a CSRF token (deactivate, retry, ...)."""


class LanguageForm(IlsForm):
    """Pick the interface language."""

    lang = SelectField(_l("Language"), choices=choices(LANGUAGE_CHOICES))


class LibraryForm(IlsForm):
    """Create or edit a library. Network-level fields are removed for librarians."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(min=2, max=16)],
                       description=_l("Short and unique, for example PUKB or SDN001BU."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), choices=choices((t.value, label) for t, label in LIBRARY_TYPE_LABELS.items()))
    npp = StringField(_l("NPP (Perpusnas library number)"), validators=[Optional(), Length(max=32)])
    parent_id = SelectField(_l("Parent organisation or library"), coerce=int, choices=[])
    kecamatan = StringField(_l("Kecamatan"), validators=[Optional(), Length(max=100)])
    kelurahan = StringField(_l("Kelurahan/desa"), validators=[Optional(), Length(max=100)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=1000)])
    phone = StringField(_l("Phone/WhatsApp"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(check_deliverability=False), Length(max=200)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=200)])
    timezone = SelectField(_l("Time zone"), choices=choices([
        ("Asia/Makassar", _l("WITA (Asia/Makassar)")), ("Asia/Jakarta", _l("WIB (Asia/Jakarta)")),
        ("Asia/Jayapura", _l("WIT (Asia/Jayapura)"))]))
    opac_public = BooleanField(_l("Holdings are public in the OPAC"), default=True)
    hours_mon = StringField(WEEKDAY_LABELS["mon"])
    hours_tue = StringField(WEEKDAY_LABELS["tue"])
    hours_wed = StringField(WEEKDAY_LABELS["wed"])
    hours_thu = StringField(WEEKDAY_LABELS["thu"])
    hours_fri = StringField(WEEKDAY_LABELS["fri"])
    hours_sat = StringField(WEEKDAY_LABELS["sat"])
    hours_sun = StringField(WEEKDAY_LABELS["sun"])

    NETWORK_FIELDS = ("code", "type", "npp", "parent_id", "timezone")

    def __init__(self, *args: Any, parents: list[Library] | None = None, network: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parent_id.choices = choices([(0, _l("(none)"))] + [(p.id, _library_label(p)) for p in parents or []])
        zone = self.timezone.data
        if zone and zone not in {c.value for c in self.timezone.choices}:  # set by the CLI, e.g. UTC
            self.timezone.choices = [*self.timezone.choices, SelectChoice(zone, zone)]
        if not network:
            for name in self.NETWORK_FIELDS:
                delattr(self, name)

    def hour_fields(self) -> list[Any]:
        """The seven opening-hours fields in weekday order."""
        return [getattr(self, f"hours_{day}") for day in WEEKDAYS]

    def fill_hours(self, library: Library) -> None:
        """Show a library's opening hours in the text fields."""
        for day in WEEKDAYS:
            getattr(self, f"hours_{day}").data = format_hours((library.opening_hours or {}).get(day, []))

    def validate(self, extra_validators: Any = None) -> bool:  # noqa: D102 - WTForms hook
        ok = super().validate(extra_validators)
        for field in self.hour_fields():
            try:
                parse_hours(field.data or "")
            except ValidationError as exc:
                field.errors = list(field.errors) + [str(exc)]
                ok = False
        return ok

    def to_data(self) -> dict[str, Any]:
        """Plain values for the service."""
        data = {name: field.data for name, field in self._fields.items()
                if name != "csrf_token" and not name.startswith("hours_")}
        data["opening_hours"] = {day: parse_hours(getattr(self, f"hours_{day}").data or "") for day in WEEKDAYS}
        return data


class StaffForm(IlsForm):
    """Create or edit a staff account."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=64)],
                           description=_l("Small letters, digits, dot, dash or underscore."))
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(check_deliverability=False), Length(max=200)])
    role = SelectField(_l("Role"), choices=[])
    library_id = SelectField(_l("Library"), coerce=int, choices=[])
    locale = SelectField(_l("Language"), choices=choices(LANGUAGE_CHOICES))
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=MIN_LENGTH, max=128)],
                             render_kw={"autocomplete": "new-password"},
                             description=_l("At least %(n)s characters. A short sentence is easy to remember.",
                                            n=MIN_LENGTH))

    def __init__(self, *args: Any, roles: list[Role], libraries: list[Library] | None,
                 creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = choices((r.value, ROLE_LABELS[r]) for r in Role if r in roles)
        if libraries is None:
            del self.library_id
        else:
            self.library_id.choices = choices([(0, _l("(network-wide: admin and DPK only)"))] + [
                (lib.id, _library_label(lib)) for lib in libraries])
        if creating:
            self.password.validators = [DataRequired(), Length(min=MIN_LENGTH, max=128)]
        else:
            del self.username
            del self.password

    def to_data(self) -> dict[str, Any]:
        """Plain values for the service (password handled separately)."""
        return {name: field.data for name, field in self._fields.items()
                if name not in ("csrf_token", "password")}


class PasswordForm(IlsForm):
    """Change a password; the current one is asked when changing one's own."""

    current_password = PasswordField(_l("Current password"), render_kw={"autocomplete": "current-password"})
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=128)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
                            render_kw={"autocomplete": "new-password"})


def staff_initial(user: StaffUser) -> dict[str, Any]:
    """Form data for editing a staff account."""
    return {"full_name": user.full_name, "email": user.email, "role": user.role.value,
            "library_id": user.library_id or 0, "locale": user.locale}
