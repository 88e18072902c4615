"""Typed functions over a Session for the runtime, the CLI and the UI.

Usage: `with db.session() as s: rows, total = repository.query_defects(s, product="pcb")`.
Returned rows stay readable after the session closes (attributes, not lazy relationships).
"""

from resad_station.storage.repository.audit import add_audit_event, list_audit_events
from resad_station.storage.repository.common import as_utc
from resad_station.storage.repository.products import (
    ReferenceImageSpec,
    activate_reference_set,
    active_reference_set,
    add_reference_set,
    get_or_create_product,
    get_product,
    get_reference_set,
    list_products,
    list_reference_sets,
    set_calibration,
)
from resad_station.storage.repository.records import (
    InspectionRecord,
    add_defect,
    add_inspection,
    add_inspections,
    count_inspections,
    get_defect,
    label_defect,
    list_cameras,
    query_defects,
)
from resad_station.storage.repository.retention import RetentionResult, apply_retention, delete_older_than

__all__ = [
    "InspectionRecord", "ReferenceImageSpec", "RetentionResult",
    "activate_reference_set", "active_reference_set", "add_audit_event", "add_defect", "add_inspection",
    "add_inspections", "add_reference_set", "apply_retention", "as_utc", "count_inspections",
    "delete_older_than", "get_defect", "get_or_create_product", "get_product", "get_reference_set",
    "label_defect", "list_audit_events", "list_cameras", "list_products", "list_reference_sets", "query_defects",
    "set_calibration",
]
