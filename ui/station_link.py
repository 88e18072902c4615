"""The UI's one door into the runtime: a Station plus the few lookups the screens need.

Every call that writes (thresholds, profile save, enroll, teach, audit) is meant to be made from a
TaskRunner thread; the lookups (products, calibration, audit list) are quick reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from resad_station import paths
from resad_station.defects.review import DefectReview
from resad_station.enrollment.enroll import EnrollmentDraft
from resad_station.enrollment.quality import Shot
from resad_station.profiles import Profile, ProfileEntry, list_profiles, profile_to_yaml, save_profile
from resad_station.runtime.station import Station
from resad_station.storage import repository as repo


class StationLink:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.defects = DefectReview(station.db)  # the Review screen's reads, labels and exports

    @classmethod
    def open(cls, profile: str | os.PathLike, data_dir: str | os.PathLike | None = None, db_url: str | None = None,
             **station_options: Any) -> "StationLink":
        return cls(Station.open(profile, data_dir=data_dir, db_url=db_url, **station_options))

    @classmethod
    def open_with(cls, profile: Profile, data_dir: str | os.PathLike | None, db_url: str | None, **station_options: Any) -> "StationLink":
        """A Station with options (e.g. source= a folder for the bench)."""
        return cls(Station.open(profile, data_dir=data_dir, db_url=db_url, **station_options))

    # -- what the screens read --
    @property
    def profile(self) -> Profile:
        return self.station.profile

    @property
    def data_dir(self) -> Path:
        return self.station.data_dir

    @property
    def db(self):
        return self.station.db

    @property
    def product(self) -> str:
        return self.station.active.name

    def profile_text(self) -> str:
        source = self.profile.source_path
        return source.read_text(encoding="utf-8") if source and source.is_file() else profile_to_yaml(self.profile)

    def profiles(self) -> list[ProfileEntry]:
        return list_profiles(self.data_dir)

    def _profile_of_product(self, product: str) -> Path | None:
        # The profile that runs a product: the current one, else the first listed (user before shipped).
        if product == self.product and self.profile.source_path:
            return self.profile.source_path
        return next((e.path for e in self.profiles() if e.error is None and e.product == product), None)

    def product_names(self) -> list[str]:
        """Products the line can switch to: those with a profile (a switch needs its camera/engine set-up)."""
        names = {e.product for e in self.profiles() if e.error is None}
        return sorted(names | {self.product})

    def thresholds(self) -> tuple[float, float]:
        t = self.station.active.thresholds
        return t.t_uncertain, t.t_fail

    def good_scores(self) -> list[float]:
        return list(self.station.calibration.scores)

    def audit_events(self, limit: int) -> list:
        with self.db.read_session() as s:
            return repo.list_audit_events(s, limit=limit)

    # -- runtime control --
    def add_listener(self, listener: Any) -> None:
        self.station.add_listener(listener)

    def remove_listener(self, listener: Any) -> None:
        self.station.remove_listener(listener)

    def start(self) -> None:
        if self.station.pipeline is None:
            self.station.start()

    def stop(self) -> bool:
        return self.station.stop()

    def close(self) -> None:
        self.station.close()

    def acknowledge_alarm(self, actor: str) -> bool:
        return self.station.acknowledge_alarm(actor)

    # -- changes (worker threads; each is audited) --
    def switch_product(self, product: str, actor: str) -> None:
        path = self._profile_of_product(product)
        if path is None:
            raise ValueError(f"no profile runs product {product!r}: create one in Settings > Profile")
        self.station.switch_product(path, actor=actor)

    def set_thresholds(self, t_uncertain: float, t_fail: float, actor: str) -> None:
        self.station.set_thresholds(t_uncertain, t_fail, actor=actor)

    def save_profile(self, profile: Profile, text: str, actor: str) -> Path:
        """Into the user profiles folder (shipped profiles stay as shipped); the YAML text is kept as typed."""
        target = paths.user_profiles_dir(self.data_dir) / f"{profile.name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        save_profile(profile, target)
        target.write_text(text, encoding="utf-8")  # keep the engineer's comments; it validated as this text
        self.audit(actor, "profile_saved", {"profile": profile.name, "product": profile.product,
                                            "camera": profile.camera.name, "path": str(target)})
        return target

    def teach_as_good(self, defect_id: int, actor: str) -> int:
        return self.station.teach_as_good(defect_id, actor=actor).version

    def audit(self, actor: str, action: str, details: dict) -> None:
        with self.db.session() as s:
            repo.add_audit_event(s, actor, action, details)

    def enroll_backend(self, actor: str) -> "WizardEnrollment":
        return WizardEnrollment(self, actor)


class WizardEnrollment:
    """The enroll wizard's backend: build + calibrate first (shown), store + switch on Finish.

    Both run in the wizard's worker threads; the building and storing is the runtime's
    (Station.prepare_enrollment / save_enrollment, the same code as `resad-station enroll`).
    """

    def __init__(self, link: StationLink, actor: str) -> None:
        self.link = link
        self.actor = actor

    def build(self, product: str, profile_path: Path | None, shots: Sequence[Shot]) -> EnrollmentDraft:
        link = self.link
        profile = profile_path or link._profile_of_product(product)  # the product's profile gives the ROI
        if profile is not None and profile == link.profile.source_path:
            profile = None  # the running profile, as loaded
        live = [s for s in shots if s.source == "live"]  # live frames arrive cropped already
        files = [s for s in shots if s not in live]
        return link.station.prepare_enrollment(files, frames=live, product=product, profile=profile)

    def save(self, draft: EnrollmentDraft, note: str) -> int:
        link = self.link
        details = {"from": "enroll wizard", "camera": link.profile.camera.name}
        result = link.station.save_enrollment(draft, actor=self.actor, note=note, details=details)
        if result.product != link.product and draft.profile_path is not None:
            link.station.switch_product(draft.profile_path, actor=self.actor)  # the line inspects it from now on
        return result.version
