"""OAI-PMH 2.0 data provider at /oai: every verb over GET and form POST (catalog.services.oai)."""
from __future__ import annotations

from flask import Response, request, url_for

from catalog.services import oai as services
from catalog.views import bp
from ils.extensions import csrf
from ils.mixins import utcnow


@bp.route("/oai", methods=["GET", "POST"])
@csrf.exempt  # a protocol endpoint for harvesters (pyoai POSTs every verb): no session, no form token, read-only
def oai_endpoint() -> Response:
    """Answer one OAI-PMH request; the arguments come from the query string or a form body."""
    pairs = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
    try:
        body = services.answer(pairs=pairs, base_url=url_for("catalog.oai_endpoint", _external=True), now=utcnow())
    except services.NotConfigured as exc:
        return Response(str(exc), status=503, content_type="text/plain; charset=utf-8")
    return Response(body, content_type="text/xml; charset=utf-8")
