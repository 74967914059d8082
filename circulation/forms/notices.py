"""Notice delivery page forms: the filters (GET) and "retry failed" (POST with CSRF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from circulation.models.notices import NOTICE_KIND_LABELS, NOTICE_STATUS_LABELS
from ils.forms import IlsForm, choices


class NoticeFilterForm(IlsForm):
    """Status and kind filters; only listed values pass, so nothing else reaches the query."""

    class Meta:
        # A GET filter changes nothing, so it needs no token (and a token would end up in URLs).
        csrf = False

    status = SelectField(_l("Status"), choices=choices([("", _l("All statuses"))] + [
        (status.value, label) for status, label in NOTICE_STATUS_LABELS.items()]), default="")
    kind = SelectField(_l("Kind"), choices=choices([("", _l("All kinds"))] + [
        (kind.value, label) for kind, label in NOTICE_KIND_LABELS.items()]), default="")


class RetryFailedForm(IlsForm):
    """Put the failed notices back in the queue (a button with a CSRF token)."""
