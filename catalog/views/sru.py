"""SRU server at /sru: SRU 1.1, 1.2 and 2.0 over GET and form POST, and SRW (SOAP) POST."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, request

from catalog.services import sru as services
from catalog.views import bp
from ils.extensions import csrf

XML_TYPES = ("text/xml", "application/xml", "application/soap+xml")


@bp.route("/sru", methods=["GET", "POST"])
@csrf.exempt  # a protocol endpoint for other systems' clients: no session, no form token, read-only
def sru_endpoint() -> Response:
    """Answer explain, searchRetrieve and scan; an XML POST body is an SRW request in a SOAP envelope."""
    url = urlsplit(request.host_url)
    server = services.Server(host=url.hostname or "", port=url.port or (443 if url.scheme == "https" else 80),
                             database=request.path.strip("/"), transport=url.scheme)
    status = 200
    if request.method == "POST" and request.mimetype in XML_TYPES:
        body, status = services.answer_soap(request.get_data(), server)
    else:
        body = services.answer(request.values.to_dict(flat=True), server)
    return Response(body, status=status, content_type="text/xml; charset=utf-8")
