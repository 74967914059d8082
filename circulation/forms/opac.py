"""OPAC self-service forms: patron login, PIN change, hold actions, data download, registration."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from ils.forms import IlsForm

PIN_RULE = Regexp(r"^\d{4,8}$", message=_l("The PIN must be 4 to 8 digits."))


class PatronLoginForm(IlsForm):
    """Card number and PIN."""

    card_number = StringField(_l("Card number"), validators=[DataRequired(), Length(max=40)],
                              render_kw={"autocomplete": "username", "inputmode": "numeric"})
    pin = PasswordField(_l("PIN"), validators=[DataRequired(), Length(max=8)],
                        render_kw={"autocomplete": "current-password", "inputmode": "numeric"})


class PickupForm(IlsForm):
    """Another pickup library for a waiting hold."""

    pickup_library_id = SelectField(_l("Pickup library"), coerce=int)


class HistoryForm(IlsForm):
    """Grant (1) or withdraw (0) consent to keep a reading history."""

    opt_in = HiddenField(validators=[DataRequired(), Regexp(r"^[01]$")])


class PinChangeForm(IlsForm):
    """A new PIN, after the current one."""

    current_pin = PasswordField(_l("Current PIN"), validators=[DataRequired(), Length(max=8)],
                                render_kw={"autocomplete": "current-password", "inputmode": "numeric"})
    new_pin = PasswordField(_l("New PIN"), validators=[DataRequired(), PIN_RULE],
                            render_kw={"autocomplete": "new-password", "inputmode": "numeric"})
    confirm = PasswordField(_l("New PIN again"), validators=[DataRequired(), EqualTo("new_pin",
                                                                                     message=_l("The PINs differ."))],
                            render_kw={"autocomplete": "new-password", "inputmode": "numeric"})


class DataDownloadForm(IlsForm):
    """Which format of "Unduh data saya"."""

    format = HiddenField(validators=[DataRequired(), Regexp(r"^(json|pdf)$")])


class PlaceHoldForm(IlsForm):
    """Where to collect the title, and whether any copy will do."""

    pickup_library_id = SelectField(_l("Pickup library"), coerce=int)
    item_id = SelectField(_l("Copy"), coerce=int, description=_l("Any copy comes soonest; choose one copy only if "
                                                                 "you need that particular one."))


class RegistrationForm(IlsForm):
    """Self-registration. The patron becomes a member once the library has seen an identity document."""

    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    category_code = SelectField(_l("Member category"), validators=[DataRequired()])
    birth_date = DateField(_l("Birth date"), validators=[DataRequired()], render_kw={"autocomplete": "bday"})
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=40)],
                        render_kw={"autocomplete": "tel", "inputmode": "tel"})
    whatsapp = BooleanField(_l("This number has WhatsApp (reminders may be sent there)"))
    email = EmailField(_l("E-mail (optional)"), validators=[Optional(), Email(), Length(max=200)],
                       render_kw={"autocomplete": "email"})
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=500)],
                          render_kw={"autocomplete": "street-address"})
    kelurahan = StringField(_l("Kelurahan"), validators=[DataRequired(), Length(max=100)])
    home_library_id = SelectField(_l("Home library (where you collect your card)"), coerce=int)
    pin = PasswordField(_l("Choose a PIN (4 to 8 digits)"), validators=[DataRequired(), PIN_RULE],
                        render_kw={"autocomplete": "new-password", "inputmode": "numeric"})
    pin_confirm = PasswordField(_l("PIN again"), validators=[DataRequired(), EqualTo("pin",
                                                                                    message=_l("The PINs differ."))],
                                render_kw={"autocomplete": "new-password", "inputmode": "numeric"})
    guardian_name = StringField(_l("Parent's or guardian's name"), validators=[Optional(), Length(max=200)])
    guardian_phone = StringField(_l("Parent's or guardian's phone"), validators=[Optional(), Length(max=40)])
    # UU PDP Pasal 25: a child's data needs the parent's or guardian's consent.
    guardian_consent = BooleanField(_l("I am the parent or guardian of this child and I agree that the library "
                                       "processes the child's data for the membership."))
    # Pasal 20: lending rests on the public-service basis; this is notice, not a consent to bundle.
    notice = BooleanField(_l("I have read the privacy notice above: the library uses my data to run my "
                             "membership, loans and holds as a public service."),
                          validators=[DataRequired(message=_l("Please confirm that you have read the privacy "
                                                              "notice."))])
    # Pasal 20-22: optional, off by default, withdrawable at any time from the account page.
    history = BooleanField(_l("Optional: keep a list of the books I have returned so I can look them up later. "
                              "I can withdraw this consent at any time."))
