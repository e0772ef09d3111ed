"""Blocks: who the caller blocked. A block stops new direct conversations and
writing in an existing direct one, in both directions; groups are unaffected."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.messaging.schemas import BlockIn, BlockList, BlockOut
from shared.auth import Principal
from shared.errors import Invalid, NotFound
from shared.models import Block

blp = Blueprint("blocks", __name__, url_prefix="/api/v1", description="Blocked principals")


def find_block(blocker: Principal, blocked: Principal) -> Block | None:
    return db.session.execute(
        select(Block).where(
            Block.blocker_role == blocker.role, Block.blocker_id == blocker.id,
            Block.blocked_role == blocked.role, Block.blocked_id == blocked.id,
        )
    ).scalar_one_or_none()


@blp.route("/blocks")
@blp.authenticated()
@blp.response(200, BlockList)
def list_blocks():
    """Everyone the caller has blocked."""
    me = current_principal()
    rows = db.session.execute(
        select(Block).where(Block.blocker_role == me.role, Block.blocker_id == me.id).order_by(Block.id)
    ).scalars()
    return {"blocks": list(rows)}


@blp.route("/blocks", methods=["POST"])
@blp.authenticated()
@blp.arguments(BlockIn)
@blp.response(201, BlockOut, description="The principal is now blocked.")
@blp.alt_response(200, schema=BlockOut, description="The principal was already blocked.", success=True)
def create_block(args):
    """Block a principal (200 if already blocked)."""
    me, other = current_principal(), Principal(args["role"], args["id"])
    if me == other:
        raise Invalid("you cannot block yourself", code="cannot_block_self")
    existing = find_block(me, other)
    if existing is not None:
        return existing, 200
    row = Block(blocker_role=me.role, blocker_id=me.id, blocked_role=other.role, blocked_id=other.id)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the same block raced in
        db.session.rollback()
        return find_block(me, other), 200
    return row, 201


@blp.route("/blocks/<role>/<int(max=2147483647):principal_id>", methods=["DELETE"])
@blp.authenticated()
@blp.response(204)
@blp.errors(404)
def delete_block(role, principal_id):
    """Unblock a principal."""
    row = find_block(current_principal(), Principal(role, principal_id))
    if row is None:
        raise NotFound("you have not blocked this principal", code="block_not_found")
    db.session.delete(row)
    db.session.commit()
