"""Who am I: the principal the token names."""
import marshmallow as ma
from flask_smorest import Blueprint

from api.auth import authenticated, current_principal

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The caller")


class PrincipalSchema(ma.Schema):
    role = ma.fields.String(required=True)
    id = ma.fields.Integer(required=True)


@blp.route("/me")
@blp.response(200, PrincipalSchema)
@authenticated
def get_me():
    """The caller's principal."""
    return current_principal().as_dict()
