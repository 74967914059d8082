"""The catalog as JSON under /api/v1/catalog: records (MARC-in-JSON or MARCXML), items and imports.

Same rules as the staff pages: every view is guarded by ``permission_required`` with the page's
permission, and the services check the library scope. Views stay thin: parse, call a service,
commit, answer JSON.

Authentication
    The staff session cookie, exactly as for the pages (log in through /login). An API request
    without a session gets ``401`` JSON (not the login page's redirect).

CSRF
    Flask-WTF's CSRFProtect guards every POST and PUT here too. Send the session's token in the
    ``X-CSRFToken`` header (``X-CSRF-Token`` works as well). Every API response carries the current
    token in its ``X-CSRFToken`` response header, so a client reads it from any GET first. A write
    without a valid token is refused with ``400`` JSON. Over HTTPS Flask-WTF also wants a same-origin
    ``Referer`` header (browsers send it).

Errors
    ``{"error": message, "status": code}`` in the user's language. A MARC record that does not pass
    validation gets ``422`` with ``"issues": [{"code", "severity", "tag", "message"}, ...]``.

Records
    ``GET /records?q=&kind=&page=`` finds records (25 a page). ``GET /records/<id>`` gives the
    extracted fields, ``version``, the MARC-in-JSON under ``"marc"`` and the holdings the actor may
    see; ``?format=marcxml`` (or ``Accept: application/marcxml+xml``) gives one MARCXML ``<record>``.
    A merged or deleted record id answers ``404``; for a merged one the JSON names the survivor in
    ``"merged_into"`` (chosen over a 301 so that a PUT never lands silently on another record).
    ``POST /records`` creates from MARC-in-JSON (``application/json``: the record itself or
    ``{"marc": {...}, "note": "..."}``) or from MARCXML (``application/marcxml+xml`` or
    ``application/xml``: exactly one record); ``201`` with ``Location``. ``PUT /records/<id>``
    replaces the MARC and needs the version that was edited, as ``If-Match: <version>`` or
    ``"version"`` in the JSON body (``428`` without it, ``409`` when someone saved meanwhile).

Items
    ``GET /records/<id>/items``, ``GET /items/<id>``: private copies of other libraries are left
    out (``404`` for one asked by id) unless the actor is network-wide. ``POST /records/<id>/items``
    adds a copy (JSON fields of the copy; ``library_id`` chooses the library, default the actor's).

Imports
    ``GET /imports``, ``GET /imports/<id>``, ``GET /imports/<id>/rows?outcome=&page=`` and
    ``POST /imports`` (multipart: ``file``, optional ``format``, ``encoding``, ``on_match``,
    ``dry_run``, ``library_id``): ``202`` with the queued batch.

Paged lists are ``{"items": [...], "page": n, "pages": n, "total": n}``; a record's copies (never many)
come unpaged as ``{"items": [...], "total": n}``.

The routes live in ``records`` (find, read, create, replace), ``items`` (a record's copies, one copy,
adding a copy) and ``imports`` (batches, their rows, uploads); ``common`` holds what they share.
Importing this package registers them all.
"""
from catalog.api import imports, items, records  # noqa: F401  (the routes register on import)
