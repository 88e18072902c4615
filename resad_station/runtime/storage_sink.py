"""The recorder's sink in the app: rows through the storage repository, files through the ImageStore.

Per batch: image files first (original PNG, heatmap overlay JPEG, raw map .npy: float16 at the
engine's grid, stride 4 of its input, covering the whole stored image), then one
transaction with the inspection rows (bulk for plain rows) and the defect rows that point at
those files. A crash between the two leaves unreferenced files, never a row without its file.

Which frames get a defect row: verdicts listed in recording.keep_images (default uncertain and
fail). A PASS listed there is kept too (a defect row with verdict "pass": a sample for review).
Each defect row stores the reference the verdict message carried (FrameResult.defect_ref); a
row whose frame came without one (a kept PASS) gets a new one, so every row can be looked up.
Alarm events and recorder skips are audit events (action "alarm_raised" / "alarm_acknowledged"
/ "alarm_cleared", "recorder_skipped").
"""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from resad_station.runtime.events import AlarmEvent
from resad_station.runtime.overlay import heatmap_overlay
from resad_station.runtime.recorder import RecordItem, SkipReport, new_defect_ref
from resad_station.runtime.stage_times import StageTimes
from resad_station.storage import repository as repo
from resad_station.why.record import WhyRecorder

MAX_SKIPS_IN_AUDIT = 1000  # frame details per audit row; the count is always complete


class DatabaseSink:
    def __init__(self, db, actor: str = "system", stages: StageTimes | None = None) -> None:
        self.db = db
        self.stages = stages if stages is not None else StageTimes()
        self.actor = actor
        self._product_ids: dict[str, int] = {}
        self._lock = threading.Lock()  # alarm rows may come from another thread after stop
        self.why = WhyRecorder(db)

    def _product_id(self, session, name: str) -> int:
        if name not in self._product_ids:
            self._product_ids[name] = repo.get_or_create_product(session, name).id
        return self._product_ids[name]

    def write(self, items: Sequence[RecordItem]) -> None:
        files, whys = {}, {}
        for i, item in enumerate(items):
            if item.keep_images:
                files[i] = self._store_files(item)
                with self.stages.timer("why_crops"):
                    whys[i] = self.why.prepare(item.result)  # its crop files, before the rows
        with self.stages.timer("db_write"), self._lock, self.db.session() as s:
            plain = []
            for i, item in enumerate(items):
                r = item.result
                record = repo.InspectionRecord(
                    product_id=self._product_id(s, r.product), camera=r.camera, time=r.decided_at,
                    score=r.score, verdict=r.verdict.value, latency_ms=r.latency_ms, frame_index=r.frame_index,
                    station=self.db.station,
                )
                if i not in files:
                    plain.append(record)
                    continue
                image, heatmap, raw = files[i]
                inspection = repo.add_inspection(s, record)
                defect = repo.add_defect(
                    s, product_id=record.product_id, camera=r.camera, time=r.decided_at, verdict=r.verdict.value,
                    score=r.score, image=image, heatmap=heatmap, raw_map=raw, inspection_id=inspection.id,
                    note=r.source_name or None, station=self.db.station, reason=r.reason or None,
                    reference=r.defect_ref or new_defect_ref(),  # a PASS kept as a sample gets one here
                )
                if whys.get(i) is not None:
                    self.why.add(s, defect.id, whys[i])
            repo.add_inspections(s, plain)

    def _store_files(self, item: RecordItem):
        r = item.result
        store = self.db.images
        with self.stages.timer("encode_png"):
            image = store.put_image(r.image, ".png")  # lossless: the evidence, and teach-as-good input
        with self.stages.timer("overlay"):
            overlay = heatmap_overlay(r.image, r.anomaly_map, r.t_uncertain, r.t_fail)
        with self.stages.timer("encode_jpeg"):
            heatmap = store.put_image(overlay, ".jpg")
        with self.stages.timer("store_map"):
            # at the engine's grid, as the score saw it: 1/16 of the input's pixels, not the frame's
            raw = store.put_array(r.anomaly_map, np.float16)  # .npy without pickle
        return image, heatmap, raw

    def write_skipped(self, report: SkipReport) -> None:
        details = {
            "camera": report.camera,
            "count": report.count,
            "by_verdict": report.by_verdict,
            "frames": [
                {"frame_index": d.frame_index, "verdict": d.verdict, "score": d.score,
                 "captured_at": d.captured_at, "source": d.source_name}
                for d in report.details[:MAX_SKIPS_IN_AUDIT]
            ],
        }
        with self._lock, self.db.session() as s:
            repo.add_audit_event(s, self.actor, "recorder_skipped", details)

    def write_alarm(self, event: AlarmEvent) -> None:
        actor = event.actor or self.actor  # the one who acknowledged, else the station itself
        details = {"camera": event.camera, "product": event.product, "score": event.score,
                   "frame_index": event.frame_index, "message": event.message}
        with self._lock, self.db.session() as s:
            repo.add_audit_event(s, actor, f"alarm_{event.status.value}", details, time=event.time)
