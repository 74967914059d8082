"""Visitor log forms: the kiosk (card scan or guest buttons) and in-library use by barcode."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from circulation.services.visits import GENDERS, GUEST_CATEGORIES, MAX_GROUP, MAX_IN_HOUSE_COUNT, PURPOSES
from ils.forms import IlsForm, choices


class MemberVisitForm(IlsForm):
    """A member scans their card; a barcode scanner types the number and presses Enter."""

    card_number = StringField(_l("Library card"), validators=[DataRequired(), Length(max=40)],
                              render_kw={"autocomplete": "off", "autofocus": True, "inputmode": "numeric"})


class GuestVisitForm(IlsForm):
    """A guest ticks who they are and why they came (group visits give the number of people)."""

    category = RadioField(_l("I am"), choices=choices(GUEST_CATEGORIES.items()), validators=[InputRequired()])
    purpose = RadioField(_l("I came for"), choices=choices(PURPOSES.items()), validators=[InputRequired()])
    gender = RadioField(_l("Gender (optional)"), choices=choices(GENDERS.items()), validators=[Optional()])
    group_size = IntegerField(_l("Number of people"), default=1,
                              validators=[Optional(), NumberRange(min=1, max=MAX_GROUP)])


class InHouseUseForm(IlsForm):
    """Items collected from the tables after reading in the library."""

    barcode = StringField(_l("Item barcode"), validators=[DataRequired(), Length(max=40)],
                          render_kw={"autocomplete": "off", "autofocus": True})
    count = IntegerField(_l("Times read"), default=1,
                         validators=[Optional(), NumberRange(min=1, max=MAX_IN_HOUSE_COUNT)])
