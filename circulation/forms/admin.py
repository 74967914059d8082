"""Forms of the circulation administration screens: rules, categories, settings, closures, SIP2 kiosks.

Ranges (renewals 0..10, hold shelf 1..30 days, ...) are checked by the services, which name the
field, so a form only makes sure a number was typed; the rules live in one place.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from circulation.models import PatronCategory
from circulation.policy import ANY
from circulation.services.categories import CategoryInput
from circulation.services.rules import RuleInput, item_type_choices
from circulation.services.settings import SettingsInput
from ils.forms import IlsForm, choices
from ils.models import Library
from ils.passwords import MIN_LENGTH

ANY_LABEL = "semua/any"  # deliberately bilingual: the wildcard reads the same on every screen
CITY_WIDE = 0  # the library select's value for a city-wide row


def category_choices(categories: list[PatronCategory], *, wildcard: bool) -> list[tuple[str, Any]]:
    """(code, label) for a category select, "semua/any" first when the wildcard is allowed."""
    pairs = [(c.code, f"{c.name_id} ({c.code})" + ("" if c.active else f" [{_l('inactive')}]")) for c in categories]
    return ([(ANY, ANY_LABEL)] if wildcard else []) + pairs


def library_choices(libraries: list[Library], *, city_wide: bool) -> list[tuple[int, Any]]:
    """(id, label) for a library select, "city-wide" first when the actor may write city-wide rows."""
    pairs: list[tuple[int, Any]] = [(lib.id, f"{lib.name} ({lib.code})") for lib in libraries]
    return ([(CITY_WIDE, _l("City-wide: every library"))] if city_wide else []) + pairs


class RuleForm(IlsForm):
    """One row of the rules matrix. The library select exists only when creating as admin or DPK."""

    library_id = SelectField(_l("Library"), coerce=int, choices=[])
    category_code = SelectField(_l("Patron category"), choices=[])
    item_type = SelectField(_l("Item type"), choices=[])
    loanable = BooleanField(_l("May be borrowed (untick for use in the library only)"), default=True)
    loan_days = IntegerField(_l("Loan period in days"), validators=[Optional()], default=7,
                             description=_l("Fill in days or hours, not both. 0 days: due at closing time today."))
    loan_hours = IntegerField(_l("Loan period in hours"), validators=[Optional()],
                              description=_l("For short loans (e.g. 3 hours); the loan ends by closing time."))
    max_loans_library = IntegerField(_l("Most items on loan from this library"), validators=[InputRequired()],
                                     default=3)
    max_loans_city = IntegerField(_l("Most items on loan in the whole city"), validators=[InputRequired()], default=10)
    renewals = IntegerField(_l("Renewals allowed (0 to 10)"), validators=[InputRequired()], default=1)
    renewal_days = IntegerField(_l("Days added per renewal"), validators=[InputRequired()], default=7)
    fine_per_day = IntegerField(_l("Fine per late day (rupiah)"), validators=[InputRequired()], default=500)
    fine_cap = IntegerField(_l("Highest fine per item (rupiah, 0 = no cap)"), validators=[InputRequired()],
                            default=0)
    grace_days = IntegerField(_l("Grace days before fines start"), validators=[InputRequired()], default=0)
    holds_allowed = BooleanField(_l("Holds may be placed"), default=True)
    hold_shelf_days = IntegerField(_l("Days a hold waits on the shelf (1 to 30)"), validators=[InputRequired()],
                                   default=3)
    other_libraries = BooleanField(_l("Members of other libraries may borrow"), default=True)
    note = StringField(_l("Note (why this rule exists)"), validators=[Optional(), Length(max=300)])

    def __init__(self, *args: Any, categories: list[PatronCategory], libraries: list[tuple[int, Any]] | None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category_code.choices = choices(category_choices(categories, wildcard=True))
        self.item_type.choices = choices([(ANY, ANY_LABEL)] + item_type_choices())
        if libraries is None:
            del self.library_id
        else:
            self.library_id.choices = choices(libraries)

    def rule_input(self) -> RuleInput:
        """The row's values for the service."""
        return RuleInput(
            category_code=self.category_code.data, item_type=self.item_type.data, loanable=bool(self.loanable.data),
            loan_days=self.loan_days.data, loan_hours=self.loan_hours.data,
            max_loans_library=self.max_loans_library.data, max_loans_city=self.max_loans_city.data,
            renewals=self.renewals.data, renewal_days=self.renewal_days.data, fine_per_day=self.fine_per_day.data,
            fine_cap=self.fine_cap.data, grace_days=self.grace_days.data, holds_allowed=bool(self.holds_allowed.data),
            hold_shelf_days=self.hold_shelf_days.data, other_libraries=bool(self.other_libraries.data),
            note=self.note.data or "")


class PreviewForm(IlsForm):
    """Which rule applies? A library, a patron category and an item type."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    library_id = SelectField(_l("Library"), coerce=int, choices=[])
    category_code = SelectField(_l("Patron category"), choices=[])
    item_type = SelectField(_l("Item type"), choices=[])

    def __init__(self, *args: Any, categories: list[PatronCategory], libraries: list[tuple[int, Any]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.library_id.choices = choices(libraries)
        self.category_code.choices = choices(category_choices(categories, wildcard=False))
        self.item_type.choices = choices(item_type_choices())


class CategoryForm(IlsForm):
    """A patron category. The code cannot change once patrons and rules refer to it."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)],
                       description=_l("Small letters, digits and underscores, e.g. pelajar_smp."))
    name_id = StringField(_l("Name in Indonesian"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=80)])
    card_months = IntegerField(_l("Months a card stays valid"), validators=[InputRequired()], default=12)
    minor_below_age = IntegerField(_l("Guardian consent needed below this age"), validators=[InputRequired()],
                                   default=18)
    is_pupil = BooleanField(_l("Counts as a school pupil (IPLM)"))
    sort = IntegerField(_l("Order in lists"), validators=[InputRequired()], default=0)
    active = BooleanField(_l("Active (new members may get this category)"), default=True)

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.code

    def category_input(self) -> CategoryInput:
        """The category's values for the service."""
        return CategoryInput(name_id=self.name_id.data or "", name_en=self.name_en.data or "",
                             card_months=self.card_months.data, minor_below_age=self.minor_below_age.data,
                             is_pupil=bool(self.is_pupil.data), sort=self.sort.data, active=bool(self.active.data))


class CirculationSettingsForm(IlsForm):
    """A library's circulation choices."""

    fines_skip_closed = BooleanField(_l("No fines for days the library is closed"))
    national_holidays = BooleanField(_l("Closed on national holidays"))
    cuti_bersama = BooleanField(_l("Closed on cuti bersama days"))
    floating = BooleanField(_l("Floating collection: returned items stay here instead of going home"))
    pickup_point = BooleanField(_l("Members may pick up holds here"))
    fee_block_threshold = IntegerField(_l("Block loans when unpaid fees exceed (rupiah)"),
                                       validators=[InputRequired()])
    block_on_overdue = BooleanField(_l("Block loans while a member has overdue items"))
    self_registration = BooleanField(_l("Accept registrations from the public catalogue"))
    due_soon_days = IntegerField(_l("Send the due-soon reminder this many days before"), validators=[InputRequired()])

    def settings_input(self) -> SettingsInput:
        """The settings for the service."""
        return SettingsInput(
            fines_skip_closed=bool(self.fines_skip_closed.data), national_holidays=bool(self.national_holidays.data),
            cuti_bersama=bool(self.cuti_bersama.data), floating=bool(self.floating.data),
            pickup_point=bool(self.pickup_point.data), fee_block_threshold=self.fee_block_threshold.data,
            block_on_overdue=bool(self.block_on_overdue.data), self_registration=bool(self.self_registration.data),
            due_soon_days=self.due_soon_days.data)


CLOSURE_STATUS = (("closed", _l("Closed")), ("open", _l("Open despite the holiday")))


class ClosureForm(IlsForm):
    """Add a closed day, or keep the library open on a holiday. The city-wide box is for admin and DPK."""

    on_date = DateField(_l("Date"), validators=[InputRequired()])
    status = SelectField(_l("The library is"), choices=choices(CLOSURE_STATUS), default="closed")
    reason = StringField(_l("Reason (shown on the calendar)"), validators=[DataRequired(), Length(max=200)])
    city_wide = BooleanField(_l("For every library in the city"))

    def __init__(self, *args: Any, city_wide: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not city_wide:
            del self.city_wide


class SipAccountForm(IlsForm):
    """A new self-check kiosk login. The library select exists only for admin and DPK."""

    library_id = SelectField(_l("Library"), coerce=int, choices=[])
    login = StringField(_l("Kiosk login (SIP2 CN)"), validators=[DataRequired(), Length(min=3, max=40)])
    password = PasswordField(_l("Kiosk password (SIP2 CO)"),
                             validators=[DataRequired(), Length(min=MIN_LENGTH, max=128)],
                             render_kw={"autocomplete": "new-password"})
    label = StringField(_l("Where the kiosk stands"), validators=[Optional(), Length(max=100)])
    require_pin = BooleanField(_l("Members type their PIN at this kiosk"), default=True)

    def __init__(self, *args: Any, libraries: list[tuple[int, Any]] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if libraries is None:
            del self.library_id
        else:
            self.library_id.choices = choices(libraries)


class SipPasswordForm(IlsForm):
    """A new password for a kiosk account."""

    password = PasswordField(_l("New kiosk password"), validators=[DataRequired(), Length(min=MIN_LENGTH, max=128)],
                             render_kw={"autocomplete": "new-password"})
