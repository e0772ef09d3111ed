"""Who am I: the principal the token names."""
from flask_smorest import Blueprint

from api.auth import authenticated, current_principal
from api.schemas import PrincipalSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The caller")


@blp.route("/me")
@blp.response(200, PrincipalSchema)
@authenticated
def get_me():
    """The caller's principal."""
    return current_principal().as_dict()
