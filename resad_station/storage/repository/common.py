"""Small helpers shared by the repository modules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from resad_station.storage.models import Product

# SQLite allows 32766 bound parameters; stay far below for IN (...) lists.
IN_BATCH = 500


def as_utc(value: datetime | float) -> datetime:
    """An aware UTC datetime from a datetime (naive = UTC) or a time.time() float."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def require_one_of(what: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def product_id_of(session: Session, product: Product | int | str) -> int | None:
    """The id of a product given as a row, an id or a name (None for an unknown name)."""
    if isinstance(product, Product):
        return product.id
    if isinstance(product, int):
        return product
    return session.scalar(sa.select(Product.id).where(Product.name == product))


def batches(items: Sequence, size: int = IN_BATCH) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
