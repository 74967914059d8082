"""Desk forms: every field a scanner can fill, submitted with Enter."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ils.forms import IlsForm, choices

METHODS = (("cash", _l("Cash")), ("transfer", _l("Bank transfer")), ("qris", _l("QRIS")))


class PatronScanForm(IlsForm):
    """Scan the member's card."""

    card = StringField(_l("Member card"), validators=[DataRequired(), Length(max=40)])


class CheckoutForm(IlsForm):
    """Scan an item for the patron on screen."""

    card = HiddenField(validators=[DataRequired(), Length(max=40)])
    barcode = StringField(_l("Item barcode"), validators=[DataRequired(), Length(max=40)])
    # One key per rendered form: a double scan or a resubmitted page returns the same loan (R2).
    request_key = HiddenField(validators=[Optional(), Length(max=100)])
    override_reason = StringField(_l("Override reason"), validators=[Optional(), Length(max=300)],
                                  description=_l("Only to lend despite a failed check; the reason is audited."))


class BarcodeForm(IlsForm):
    """Scan an item (check-in, renewal, in-library use)."""

    barcode = StringField(_l("Item barcode"), validators=[DataRequired(), Length(max=40)])


class ExplainForm(IlsForm):
    """A patron and an item to explain."""

    class Meta:  # a GET form: no CSRF token in the URL
        csrf = False

    card = StringField(_l("Member card"), validators=[DataRequired(), Length(max=40)])
    barcode = StringField(_l("Item barcode"), validators=[DataRequired(), Length(max=40)])


class PayForm(IlsForm):
    """Take a payment."""

    amount = IntegerField(_l("Amount (rupiah)"), validators=[DataRequired(), NumberRange(min=1, max=100_000_000)])
    method = SelectField(_l("Paid by"), choices=choices(METHODS), default="cash")


class WaiveForm(IlsForm):
    """Waive part or all of a fee."""

    amount = IntegerField(_l("Amount (rupiah)"), validators=[DataRequired(), NumberRange(min=1, max=100_000_000)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class HoldForm(IlsForm):
    """Place a hold at the desk for a patron."""

    card = StringField(_l("Member card"), validators=[DataRequired(), Length(max=40)])
    record_id = IntegerField(_l("Title number"), validators=[Optional(), NumberRange(min=1)])
    barcode = StringField(_l("Or a copy's barcode (that copy only)"), validators=[Optional(), Length(max=40)])
    pickup_library_id = SelectField(_l("Pickup library"), coerce=int)


class ReasonForm(IlsForm):
    """A POST with an optional reason (cancel a hold)."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=300)])


class DeskLibraryForm(IlsForm):
    """Network staff choose which library's desk they work at."""

    library_id = SelectField(_l("Library"), coerce=int)
