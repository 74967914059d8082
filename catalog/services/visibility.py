"""What the public may see of the catalog, as SQLAlchemy clauses to put in any query.

One rule for every public door (OAI-PMH, SRU, the OPAC, the search index): a bibliographic record
is public unless all of its copies are private. Company and school libraries may keep their
copies private (Item.public false); a record only they hold stays out of public view, while a
record without any copies (just catalogued, or an online resource) is public.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select

from catalog.models import Item, ItemStatus, Record, RecordKind


def public_item_clause() -> ColumnElement[bool]:
    """Items the public may see as held: flagged public and not withdrawn (a weeded copy is gone)."""
    return and_(Item.public.is_(True), Item.status != ItemStatus.WITHDRAWN)


def public_record_clause() -> ColumnElement[bool]:
    """Bibliographic records the public may see: no copies at all, or at least one copy flagged public.

    Only the public flag counts here, not withdrawal: weeding the last copy of a title leaves its
    record in the public catalogue (its history), whereas a private copy is a library's choice to
    keep the title to itself.
    """
    has_items = exists(select(Item.id).where(Item.record_id == Record.id))
    has_public_item = exists(select(Item.id).where(Item.record_id == Record.id, Item.public.is_(True)))
    return and_(Record.kind == RecordKind.BIBLIOGRAPHIC, or_(~has_items, has_public_item))


def held_by_clause(library_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """Records of which a library holds a copy the public may see (see public_item_clause)."""
    return exists(select(Item.id).where(Item.record_id == Record.id, Item.library_id == library_id,
                                        public_item_clause()))
