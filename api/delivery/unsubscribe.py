"""The unsubscribe link of email digests: it works without logging in (a
signed token names the principal). GET shows a page with one button, so a
mail scanner following links unsubscribes nobody; POST unsubscribes, also as
RFC 8058 one-click (`List-Unsubscribe-Post`)."""
from __future__ import annotations

from html import escape

from flask import Response, request

from api.auth import app_config
from api.delivery import addressing
from api.delivery.push_schemas import UnsubscribeOut, UnsubscribeQuery
from api.docs import Blueprint
from api.extensions import db
from shared import unsubscribe as tokens
from shared.auth import Principal
from shared.errors import NotFound

blp = Blueprint("unsubscribe", __name__, url_prefix="/api/v1", description="Email digest unsubscribe links")

PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width"><body style="font-family:sans-serif;max-width:32em;margin:3em auto">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""
HTML_DOC = {"content": {"text/html": {"schema": {"type": "string"}}}}


def _principal(token: str) -> Principal:
    principal = tokens.read_token(token, app_config().events_signing_secret)
    if principal is None:
        raise NotFound("this unsubscribe link is not valid", code="unsubscribe_link_invalid")
    return principal


def _page(title: str, text: str, form: str = "") -> Response:
    return Response(PAGE.format(title=escape(title), text=escape(text), form=form), mimetype="text/html",
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@blp.route("/unsubscribe")
@blp.doc(security=[], responses={"200": {"description": "A page asking to confirm.", **HTML_DOC}})
@blp.arguments(UnsubscribeQuery, location="query")
@blp.response(200, description="A page asking to confirm.")
@blp.errors(404)
def unsubscribe_page(args):
    """The page an email's unsubscribe link opens: one button that POSTs (no token needed beyond the link's)."""
    _principal(args["token"])
    form = (f'<form method="post" action="?token={escape(args["token"])}">'
            '<button type="submit">Unsubscribe</button></form>')
    return _page("Stop email digests?", "You will no longer get emails about what you missed.", form)


@blp.route("/unsubscribe", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(UnsubscribeQuery, location="query")
@blp.response(200, UnsubscribeOut)
@blp.errors(404)
def unsubscribe(args):
    """Turn email digests off for the link's principal (idempotent; a browser's form post gets a page back)."""
    document = addressing.unsubscribe(_principal(args["token"]))
    db.session.commit()
    if request.accept_mimetypes.best == "text/html":
        return _page("Unsubscribed", "You will no longer get email digests. Your notification settings "
                     "can turn them on again.")
    return {"unsubscribed": True, "email": document["email"]}
