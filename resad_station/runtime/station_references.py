"""The Station's engine and references (a mixin of resad_station.runtime.station.Station): the
product's active reference set, verified, rebuilt when the engine's preprocessing changed,
recalibrated for another method, and enrolled on first run. Moved out of station.py unchanged (it
outgrew the 400-line limit); the methods run on a Station (db, detector, trial, progress,
prepare_enrollment, save_enrollment).
"""

from __future__ import annotations

import logging

from engine import EngineError, ReferenceSet
from engine.preprocess import PREPROCESS_ID
from resad_station.capture.imaging import image_files
from resad_station.enrollment import enroll as enrollment
from resad_station.enrollment.calibration import Calibration
from resad_station.enrollment.rebuild import existing_rebuild, rebuild_references
from resad_station.profiles import Profile
from resad_station.runtime.pipeline import ActiveProduct
from resad_station.runtime.profile_audit import profile_sha256
from resad_station.runtime.verdict import Thresholds
from resad_station.storage.errors import StorageError
from resad_station.storage.sealing import seal_problem
from resad_station.storage import repository as repo

log = logging.getLogger("resad_station.runtime.station")  # the station's log, as before the move


class StationError(RuntimeError):
    """The station cannot run as configured; the message says what to do."""


class StationReferences:
    """The active product's references and thresholds, for a Station."""

    def _active_product(self, profile: Profile) -> ActiveProduct:
        """The product's active references and thresholds; enrolls on first run when it can, and
        rebuilds references built with another preprocessing from their stored shots."""
        with self.db.read_session() as s:
            rs = repo.active_reference_set(s, profile.product)
        if rs is None:
            self._first_run_enroll(profile)
            with self.db.read_session() as s:
                rs = repo.active_reference_set(s, profile.product)
        refs = self._verified_references(profile.product, rs)
        if refs.preprocess != PREPROCESS_ID:  # built by an engine that resized frames differently
            rs, refs = self._rebuild(profile, rs.version, refs.preprocess)
        calibration = dict(rs.calibration)
        if calibration.get("method") in self.detector.available_methods:
            refs.method = calibration["method"]  # what scores this set under engine.method "auto"
        if refs.input_size != self.detector.input_size:
            raise StationError(
                f"product {profile.product!r}: its active reference set v{rs.version} was built at input size "
                f"{refs.input_size}, the profile's engine.input_size is {self.detector.input_size}; enroll again "
                f"(resad-station enroll --product {profile.product} ...) or set engine.input_size: {refs.input_size}"
            )
        fixed = self.detector.align
        if fixed != "auto" and refs.align is not None and refs.align != fixed:  # its shots were turned, or not
            raise StationError(
                f"product {profile.product!r}: its active reference set v{rs.version} was built with engine.align "
                f"{refs.align!r}, the profile's engine.align is {fixed!r}; enroll again "
                f"(resad-station enroll --product {profile.product} ...) or set engine.align: {refs.align} (or auto)"
            )
        if calibration.get("score_id") != self.detector.score_id_for(refs):  # another method, model or set of levels
            calibration = self._recalibrate(profile, rs.id, refs, calibration)
        return ActiveProduct(profile.product, refs, self._thresholds(profile, calibration), rs.product_id, rs.version)

    def _verified_references(self, product: str, rs) -> ReferenceSet:
        """The set's features, only when its MAC verifies and its blob loads; else a StationError."""
        problem = seal_problem(self.db.seal_key, rs)
        if problem:
            raise StationError(f"product {product!r}: reference set v{rs.version} {problem}; refusing to inspect "
                               f"with it (enroll again, or activate another version: resad-station enroll "
                               f"--product {product} --list)")
        try:
            return ReferenceSet.from_bytes(rs.features)
        except EngineError as exc:
            raise StationError(f"product {product!r}: reference set v{rs.version} is corrupt ({exc}); enroll "
                               "again or activate another version") from None

    def _rebuild(self, profile: Profile, version: int, old_preprocess: str):
        # The stored features no longer match this engine's frames; the shots they came from are
        # in the image store, so a new version is built from them (audited) instead of refusing to run.
        reason = f"engine preprocessing changed from {old_preprocess!r} to {PREPROCESS_ID!r}"
        log.warning("product %s: reference set v%d: %s; rebuilding it from its stored images",
                    profile.product, version, reason)
        try:
            earlier = existing_rebuild(self.db, profile.product, version)
            if earlier is not None:  # rolled back to a version rebuilt before: use that rebuild
                log.warning("product %s: v%d was rebuilt before as v%d; activating it", profile.product, version, earlier)
                enrollment.activate_version(self.db, profile.product, earlier, actor="system")
            else:
                rebuild_references(self.db, self.detector, profile.product, reason)
        except (enrollment.EnrollmentError, StorageError, OSError) as exc:
            raise StationError(f"product {profile.product!r}: reference set v{version} must be rebuilt ({reason}) "
                               f"and could not be: {exc}; enroll it again") from exc
        with self.db.read_session() as s:
            rs = repo.active_reference_set(s, profile.product)
        return rs, self._verified_references(profile.product, rs)

    def _recalibrate(self, profile: Profile, ref_id: int, refs: ReferenceSet, old: dict) -> dict:
        # Scores of another method, model or set of levels live on another scale: redo leave-one-out.
        stored_for = old.get("method", "?")
        if self.trial:
            self.progress(f"product {profile.product}: its reference set is calibrated for {stored_for}; scoring "
                          f"{self.detector.method} with a temporary calibration (nothing stored; to keep one: "
                          f"resad-station enroll --product {profile.product} --method {self.detector.method} ...)")
        cal = enrollment.calibrate_references(self.detector, refs)
        new = cal.to_dict() | {"method": self.detector.method_for(refs), "shot_names": old.get("shot_names", [])}
        if self.trial:
            return new
        with self.db.session() as s:
            repo.set_calibration(s, ref_id, new)
            repo.add_audit_event(s, "system", "reference_set_recalibrated", {
                "product": profile.product, "reference_set_id": ref_id, "from_method": old.get("method"),
                "method": self.detector.method_for(refs), "from_score_id": old.get("score_id"), "score_id": cal.score_id,
                "t_uncertain": cal.t_uncertain, "t_fail": cal.t_fail})
        return new

    def _first_run_enroll(self, profile: Profile) -> None:
        folder = profile.enrollment.references
        if not folder:
            raise StationError(
                f"product {profile.product!r} has no reference set and the profile names no "
                f"enrollment.references folder: enroll it first (resad-station enroll --product {profile.product} IMAGES...)"
            )
        files = image_files([profile.resolve_path(folder)])
        if not files:
            raise StationError(f"enrollment.references {profile.resolve_path(folder)}: no image files found")
        log.info("product %s has no reference set: enrolling from %s", profile.product, folder)
        self.progress(f"product {profile.product} has no reference set: enrolling it from {folder} ({len(files)} images)")
        # The station's own act, allowed only while the product has no reference set at all, and
        # only from the folder its profile names; audited with that profile's hash (README "Who may change what").
        draft = self.prepare_enrollment(files, profile=profile, k=profile.engine.shots, progress=self.progress)
        result = self.save_enrollment(draft, actor="system:first-run", note="first run", details={
            "authorised_as": "first run: the product had no reference set", "references": str(
                profile.resolve_path(folder)), "profile": profile.name, "profile_sha256": profile_sha256(profile)})
        self.progress(f"enrolled {profile.product}: reference set v{result.version}, {len(result.shots)} shots, "
                      f"{draft.validation_images} validation images")

    @staticmethod
    def _thresholds(profile: Profile, calibration: dict) -> Thresholds:
        t = profile.thresholds
        if t.mode == "manual":
            return Thresholds(float(t.t_uncertain), float(t.t_fail))
        return Thresholds(float(calibration["t_uncertain"]), float(calibration["t_fail"]))

    @property
    def calibration(self) -> Calibration:
        with self.db.read_session() as s:
            rs = repo.active_reference_set(s, self.active.name)
        return Calibration.from_dict(rs.calibration)
