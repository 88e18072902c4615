"""Products and their versioned reference sets (enrollment results)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from resad_station.storage.errors import NotFoundError
from resad_station.storage.image_store import StoredFile
from resad_station.storage.models import IMAGE_SOURCES, Product, ReferenceImage, ReferenceSet
from resad_station.storage.repository.common import product_id_of, require_one_of
from resad_station.storage.sealing import SEAL_INFO, seal


def get_product(session: Session, name: str) -> Product | None:
    return session.scalar(sa.select(Product).where(Product.name == name))


def list_products(session: Session) -> list[Product]:
    return list(session.scalars(sa.select(Product).order_by(Product.name)))


def get_or_create_product(session: Session, name: str, profile_path: str | None = None) -> Product:
    """The product called `name`, created if new; records `profile_path` when given."""
    if not name:
        raise ValueError("product name must not be empty")
    product = get_product(session, name)
    if product is None:
        try:
            with session.begin_nested():  # a savepoint: losing the race below keeps the transaction
                product = Product(name=name, profile_path=profile_path)
                session.add(product)
        except sa.exc.IntegrityError:
            # Another station created it since our SELECT (PostgreSQL: concurrent transactions).
            product = get_product(session, name)
            if product is None:
                raise
    elif profile_path is not None and product.profile_path != profile_path:
        product.profile_path = profile_path
    return product


@dataclass(frozen=True)
class ReferenceImageSpec:
    """One image of a new reference set: its stored file and where it came from."""

    file: StoredFile
    source: str = "file"  # file | live | review


def add_reference_set(
    session: Session,
    product: Product | int | str,
    *,
    features: bytes,
    backbone: str,
    engine_version: str,
    input_size: int,
    shots: int,
    calibration: dict[str, Any],
    images: Sequence[ReferenceImageSpec] = (),
    note: str = "",
    activate: bool = True,
) -> ReferenceSet:
    """Store a new reference-set version (max version + 1) with its images.

    With activate=True (the default) it becomes the product's active set and every other set
    of the product is deactivated, in the same transaction.
    """
    product_id = product_id_of(session, product)
    if product_id is None:
        raise NotFoundError(f"no product named {product!r}")
    for spec in images:
        require_one_of("reference image source", spec.source, IMAGE_SOURCES)
    _lock_product(session, product_id)
    last = session.scalar(sa.select(sa.func.max(ReferenceSet.version)).where(ReferenceSet.product_id == product_id))
    if activate:
        _deactivate_all(session, product_id)
    reference_set = ReferenceSet(
        product_id=product_id, version=(last or 0) + 1, active=activate, features=features, backbone=backbone,
        engine_version=engine_version, input_size=input_size, shots=shots, calibration=dict(calibration), note=note,
        images=[ReferenceImage(path=s.file.path, sha256=s.file.sha256, source=s.source) for s in images],
    )
    seal(session.info.get(SEAL_INFO), reference_set)
    session.add(reference_set)
    session.flush()
    return reference_set


def _lock_product(session: Session, product_id: int) -> None:
    # Two stations enrolling or activating one product take turns (PostgreSQL row lock; SQLite's
    # writer lock already serialises and FOR UPDATE is left out there).
    session.execute(sa.select(Product.id).where(Product.id == product_id).with_for_update())


def _deactivate_all(session: Session, product_id: int) -> None:
    # Executed now (not at flush) so the one-active-per-product index never sees two.
    session.execute(
        sa.update(ReferenceSet).where(ReferenceSet.product_id == product_id, ReferenceSet.active.is_(True))
        .values(active=False).execution_options(synchronize_session="fetch")
    )


def active_reference_set(session: Session, product: Product | int | str) -> ReferenceSet | None:
    """The product's active reference set (with its images loaded), or None."""
    product_id = product_id_of(session, product)
    if product_id is None:
        return None
    return session.scalar(
        sa.select(ReferenceSet).options(selectinload(ReferenceSet.images))
        .where(ReferenceSet.product_id == product_id, ReferenceSet.active.is_(True))
    )


def list_reference_sets(session: Session, product: Product | int | str) -> list[ReferenceSet]:
    """Every version of the product's reference sets, newest first (images loaded)."""
    product_id = product_id_of(session, product)
    if product_id is None:
        return []
    return list(session.scalars(
        sa.select(ReferenceSet).options(selectinload(ReferenceSet.images))
        .where(ReferenceSet.product_id == product_id).order_by(ReferenceSet.version.desc())
    ))


def get_reference_set(session: Session, reference_set_id: int) -> ReferenceSet:
    reference_set = session.get(ReferenceSet, reference_set_id, options=[selectinload(ReferenceSet.images)])
    if reference_set is None:
        raise NotFoundError(f"no reference set with id {reference_set_id}")
    return reference_set


def activate_reference_set(session: Session, reference_set_id: int) -> ReferenceSet:
    """Make this version the active one of its product (roll back or forward)."""
    reference_set = get_reference_set(session, reference_set_id)
    _lock_product(session, reference_set.product_id)
    _deactivate_all(session, reference_set.product_id)
    reference_set.active = True
    session.flush()
    return reference_set


def set_calibration(session: Session, reference_set_id: int, calibration: dict[str, Any]) -> ReferenceSet:
    """Replace a reference set's calibration (e.g. thresholds re-derived from more good images)."""
    reference_set = get_reference_set(session, reference_set_id)
    reference_set.calibration = dict(calibration)  # a new object, so the JSON change is detected
    seal(session.info.get(SEAL_INFO), reference_set)
    session.flush()
    return reference_set
