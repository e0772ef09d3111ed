"""Team rosters, as the site sends them; the team's conversations follow."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.messaging import rostering
from api.messaging.schemas import TeamMembersIn, TeamMembersOut

blp = Blueprint("teams", __name__, url_prefix="/api/v1", description="Team rosters")
MEMBERS = "/teams/<int(min=1, max=2147483647):team_id>/members"


@blp.route(MEMBERS, methods=["PUT"])
@blp.authenticated("service", "admin", service_writes=True)
@blp.arguments(TeamMembersIn)
@blp.response(200, TeamMembersOut)
@blp.errors(404)
def put_members(args, team_id):
    """Replace the team's member list; its team conversations follow (same list again: no change)."""
    change = rostering.set_roster(team_id, args["members"], args.get("title"))
    db.session.commit()
    return change


@blp.route(MEMBERS)
@blp.authenticated()
@blp.response(200, TeamMembersOut)
@blp.errors(404)
def get_members(team_id):
    """The team's member list (admins, services and its members)."""
    members = rostering.team_members(team_id, current_principal())
    return rostering.RosterChange(team_id, members, conversation_ids=rostering.conversation_ids(team_id))
