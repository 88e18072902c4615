"""The station's side of the line outputs: what they may ask of it, and their start and stop.

Outputs know nothing of the station (resad_station/outputs imports no runtime); this module
gives them an OutputContext whose callbacks go to the station: the audit log, the alarm, the
product switch (by product name, through the profile that runs it) and the status events.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from resad_station.outputs import OutputContext, OutputSet, OutputStatus
from resad_station.profiles import list_profiles
from resad_station.runtime.overlay import fit_longest_side, heatmap_overlay
from resad_station.storage import repository as repo

if TYPE_CHECKING:
    from resad_station.runtime.station import Station

log = logging.getLogger(__name__)


def _audit(station: "Station", actor: str, action: str, details: dict[str, Any]) -> None:
    with station.db.session() as s:
        repo.add_audit_event(s, actor, action, details)


def _select_product(station: "Station", product: str, actor: str) -> None:
    """A PLC or SCADA asked for another product: switch in a thread of its own (it may enroll)."""

    def switch() -> None:
        path = next((e.path for e in list_profiles(station.data_dir) if e.error is None and e.product == product), None)
        try:
            if path is None:
                raise ValueError(f"no profile runs product {product!r}")
            station.switch_product(path, actor=actor)
        except Exception as exc:  # noqa: BLE001 - a bad request from the line must not stop it
            log.error("product select by %s refused: %s", actor, exc)
            _audit(station, actor, "product_select_refused", {"product": product, "reason": str(exc)})

    threading.Thread(target=switch, name="output-select-product", daemon=True).start()


OVERLAY_MAX_SIDE = 960  # the outputs' picture is for a dashboard: display size, not the camera's


def overlay_of(result: Any) -> Any:
    image = fit_longest_side(result.image, OVERLAY_MAX_SIDE)
    return heatmap_overlay(image, result.anomaly_map, result.t_uncertain, result.t_fail)


def open_outputs(station: "Station") -> OutputSet:
    """The profile's outputs, listening to the station and started (they connect in their threads)."""
    p = station.profile
    context = OutputContext(
        line=p.name, cameras=(p.camera.name,), base_dir=p.base_dir,
        audit=lambda actor, action, details: _audit(station, actor, action, details),
        raise_alarm=lambda camera, message: station.raise_alarm(message, camera),
        acknowledge_alarm=lambda camera, actor: station.acknowledge_alarm(actor),
        select_product=lambda product, actor: _select_product(station, product, actor),
        publish_status=lambda status: station.listeners.publish("on_output_state", status),
        render_overlay=overlay_of,
    )
    outputs = OutputSet.from_configs(p.outputs, context)
    if len(outputs):
        station.listeners.add(outputs)
        outputs.start()
    return outputs


def close_outputs(station: "Station", outputs: OutputSet, timeout: float = 2.0) -> bool:
    station.listeners.remove(outputs)
    return outputs.stop(timeout)


def status_dict(status: OutputStatus) -> dict[str, Any]:
    return asdict(status) | {"state": status.state.value}
