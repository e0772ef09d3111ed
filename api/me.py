"""Who am I: the principal the token names."""
from api.auth import current_principal
from api.docs import Blueprint
from api.schemas import PrincipalSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The caller")


@blp.route("/me")
@blp.authenticated()
@blp.response(200, PrincipalSchema)
def get_me():
    """The caller's principal."""
    return current_principal()
