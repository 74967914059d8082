"""Typed errors raised by services, and their one mapping to HTTP status codes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class IlsError(Exception):
    """Base of every error a service raises on purpose; ``message`` is shown to the user."""

    status_code = 400
    default_message = _l("The request could not be processed.")

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = str(message) if message is not None else str(self.default_message)
        self.field = field
        super().__init__(self.message)


class NotFound(IlsError):
    """The object does not exist (or the actor may not know it exists)."""

    status_code = 404
    default_message = _l("The page or object you asked for was not found.")


class Forbidden(IlsError):
    """The actor's role or library scope does not allow this."""

    status_code = 403
    default_message = _l("You do not have permission to do this.")


class Conflict(IlsError):
    """The change clashes with data already stored (duplicate code, ...)."""

    status_code = 409
    default_message = _l("This conflicts with data that is already stored.")


class PolicyViolation(IlsError):
    """A business rule refuses the action; the message names the rule."""

    status_code = 422
    default_message = _l("A rule of the library does not allow this.")


class ValidationFailed(IlsError):
    """Input is malformed; ``field`` names the offending field."""

    status_code = 422
    default_message = _l("Some of the data entered is not valid.")


def http_status(error: Exception) -> int:
    """The HTTP status code for an error raised by a service."""
    return error.status_code if isinstance(error, IlsError) else 500
