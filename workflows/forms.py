"""Workflows forms. Every form carries a CSRF token (Flask-WTF through IlsForm).

Forms check shapes (required, numbers, lengths); the services check meaning (dates in order,
counts adding up) and raise errors the views show on the field.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateField, DecimalField, FileField, FloatField, IntegerField, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ils.forms import IlsForm, choices
from workflows.services.activities import AGE_GROUPS, KINDS, MAX_PARTICIPANTS, PARTNER_KINDS
from workflows.services.goals import INDICATORS, PERIODS, THEMES

PARTNER_ROWS = 3


class ActivityForm(IlsForm):
    """An activity a library held: when, what, who took part (counts), partners, outcomes."""

    held_on = DateField(_l("Date held"), validators=[InputRequired()])
    kind = SelectField(_l("Kind of activity"), choices=choices(KINDS.items()), validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    tpbis = BooleanField(_l("Part of the TPBIS (social-inclusion transformation) programme"))
    participants_male = IntegerField(_l("Participants: male"), default=0,
                                     validators=[InputRequired(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    participants_female = IntegerField(_l("Participants: female"), default=0,
                                       validators=[InputRequired(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    age_anak = IntegerField(AGE_GROUPS["anak"], validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    age_remaja = IntegerField(AGE_GROUPS["remaja"], validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    age_dewasa = IntegerField(AGE_GROUPS["dewasa"], validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    age_lansia = IntegerField(AGE_GROUPS["lansia"], validators=[Optional(), NumberRange(min=0, max=MAX_PARTICIPANTS)])
    partner_1 = StringField(_l("Partner"), validators=[Optional(), Length(max=200)])
    partner_1_kind = SelectField(_l("Kind of partner"), choices=choices(PARTNER_KINDS.items()), default="lainnya")
    partner_2 = StringField(_l("Partner"), validators=[Optional(), Length(max=200)])
    partner_2_kind = SelectField(_l("Kind of partner"), choices=choices(PARTNER_KINDS.items()), default="lainnya")
    partner_3 = StringField(_l("Partner"), validators=[Optional(), Length(max=200)])
    partner_3_kind = SelectField(_l("Kind of partner"), choices=choices(PARTNER_KINDS.items()), default="lainnya")
    outcomes = TextAreaField(_l("Outcomes (what changed for the participants)"),
                             validators=[Optional(), Length(max=4000)])


class GoalForm(IlsForm):
    """A transformation goal: indicator, baseline, target, deadline, owner."""

    title = StringField(_l("Goal"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    theme = SelectField(_l("Theme"), choices=choices(THEMES.items()), validators=[InputRequired()])
    source = StringField(_l("Source (e.g. a meeting's recommendation)"), validators=[Optional(), Length(max=300)])
    indicator = SelectField(_l("Indicator"), choices=choices(INDICATORS.items()), validators=[InputRequired()])
    period = SelectField(_l("How the figure is counted"), choices=choices(PERIODS.items()), default="level")
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=32)])
    baseline = FloatField(_l("Baseline"), validators=[InputRequired()])
    baseline_on = DateField(_l("Baseline date"), validators=[InputRequired()])
    target = FloatField(_l("Target"), validators=[InputRequired()])
    deadline = DateField(_l("Deadline"), validators=[InputRequired()])
    owner = StringField(_l("Responsible (person or unit)"), validators=[DataRequired(), Length(max=200)])
    at_risk_margin = DecimalField(_l("Margin before 'at risk' (share, 0,1 = 10 %)"), default=0.1, places=2,
                                  validators=[InputRequired(), NumberRange(min=0, max=1)])


class GoalValueForm(IlsForm):
    """A figure entered by hand for a manual goal."""

    taken_on = DateField(_l("Date"), validators=[InputRequired()])
    value = FloatField(_l("Figure"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class PopulationForm(IlsForm):
    """The population figures of one year (from BPS or the civil registry)."""

    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    residents = IntegerField(_l("Residents"), validators=[Optional(), NumberRange(min=1)])
    pupils = IntegerField(_l("School pupils"), validators=[Optional(), NumberRange(min=1)])
    students = IntegerField(_l("University students"), validators=[Optional(), NumberRange(min=1)])
    employees = IntegerField(_l("Employees (of the bodies with a special library)"),
                             validators=[Optional(), NumberRange(min=1)])
    source = StringField(_l("Source of the figures"), validators=[Optional(), Length(max=300)])


class DocumentForm(IlsForm):
    """A new version of a data document, typed or uploaded."""

    text = TextAreaField(_l("YAML text"), validators=[Optional(), Length(max=2_000_000)])
    upload = FileField(_l("Or upload a file (YAML, or XLSX for an instrument)"))
    note = StringField(_l("What changed"), validators=[DataRequired(), Length(max=300)])


class CommentForm(IlsForm):
    """A comment on a workflow's timeline."""

    comment = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=4000)])


class EvidenceForm(IlsForm):
    """One evidence file for a step or an indicator."""

    file = FileField(_l("File"), validators=[DataRequired()])


class ConfirmForm(IlsForm):
    """A button that only needs the CSRF token (start a workflow, archive, delete)."""
