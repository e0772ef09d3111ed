"""Blocks: who the caller blocked. A block stops new direct conversations and
writing in an existing direct one, in both directions; groups are unaffected."""
from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.auth import authenticated, current_principal
from api.extensions import db
from api.messaging.schemas import BlockIn
from shared.auth import Principal
from shared.errors import Invalid, NotFound
from shared.models import Block
from shared.timeutil import isoformat_z

blp = Blueprint("blocks", __name__, url_prefix="/api/v1", description="Blocked principals")


def block_dict(b: Block) -> dict:
    return {"principal": {"role": b.blocked_role, "id": b.blocked_id}, "created_at": isoformat_z(b.created_at)}


def find_block(blocker: Principal, blocked: Principal) -> Block | None:
    return db.session.execute(
        select(Block).where(
            Block.blocker_role == blocker.role, Block.blocker_id == blocker.id,
            Block.blocked_role == blocked.role, Block.blocked_id == blocked.id,
        )
    ).scalar_one_or_none()


@blp.route("/blocks")
@authenticated
@blp.response(200)
def list_blocks():
    """Everyone the caller has blocked."""
    me = current_principal()
    rows = db.session.execute(
        select(Block).where(Block.blocker_role == me.role, Block.blocker_id == me.id).order_by(Block.id)
    ).scalars()
    return {"blocks": [block_dict(b) for b in rows]}


@blp.route("/blocks", methods=["POST"])
@authenticated
@blp.arguments(BlockIn)
@blp.response(201)
def create_block(args):
    """Block a principal (200 if already blocked)."""
    me, other = current_principal(), Principal(args["role"], args["id"])
    if me == other:
        raise Invalid("you cannot block yourself", code="cannot_block_self")
    existing = find_block(me, other)
    if existing is not None:
        return block_dict(existing), 200
    row = Block(blocker_role=me.role, blocker_id=me.id, blocked_role=other.role, blocked_id=other.id)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the same block raced in
        db.session.rollback()
        return block_dict(find_block(me, other)), 200
    return block_dict(row), 201


@blp.route("/blocks/<role>/<int(max=2147483647):principal_id>", methods=["DELETE"])
@authenticated
@blp.response(204)
def delete_block(role, principal_id):
    """Unblock a principal."""
    row = find_block(current_principal(), Principal(role, principal_id))
    if row is None:
        raise NotFound("you have not blocked this principal", code="block_not_found")
    db.session.delete(row)
    db.session.commit()
