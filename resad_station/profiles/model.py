"""The product profile: a frozen, validated description of one inspection line.

Field names are fixed by the team (see docs/design.md); every section forbids unknown keys so
that a typo in a YAML file is an error, not a silently ignored setting. Cross-field rules are
written as field validators so that errors point at the exact field (thresholds.t_fail, not
thresholds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from resad_station.capture import source_class, source_kinds
from resad_station.outputs.registry import config_union
from resad_station.sections import Section as _Section

VerdictName = Literal["pass", "uncertain", "fail"]
MethodName = Literal["resad", "knn", "resad+knn", "auto"]  # the engine's METHOD_CHOICES (a test keeps them equal)
METHOD_NAMES: tuple[str, ...] = get_args(MethodName)
# the engine's choices, written out so that a CLI's --help imports no torch (tests keep them equal)
SearchName = Literal["guided", "broad", "wide", "exact", "auto"]  # engine.search_choice.SEARCH_NAMES
SEARCH_NAMES: tuple[str, ...] = get_args(SearchName)
AugmentName = Literal["none", "flips", "rotations", "dihedral", "shifts"]  # engine.reference_augment.AUGMENTS
AUGMENT_NAMES: tuple[str, ...] = get_args(AugmentName)
AlignName = Literal["none", "part", "auto"]  # engine.part_align.ALIGN_MODES
ALIGN_NAMES: tuple[str, ...] = get_args(AlignName)
# auto: a reference set whose shots show one loose part at different angles is turned to one pose,
# any other is not (engine/part_align.resolve_align). On the transfer protocol it turned exactly the
# screws' draws and lifted the default method's mean image AUROC 0.777 -> 0.811 (docs/evaluation-full.md).
DEFAULT_ALIGN = "auto"
# auto: each reference set searches "wide" when its shots' own patches find much nearer neighbours
# outside the guided window (boards at other positions), else "guided" (engine/search_choice.py). On
# the transfer protocol it chose wide for every board draw and no other, and lifted the default
# method's mean image AUROC 0.814 -> 0.841 (docs/evaluation-full.md).
DEFAULT_SEARCH = "auto"
# Short side fed to the backbone for a new product. 512, not 256: on the transfer protocol it lifts the
# default method's mean image AUROC by 0.035, on every reference seed (small defects need pixels;
# 56-61 against 14-19 ms a frame on 2 cores, docs/benchmarks.md). `evaluate`, `benchmark transfer` and
# new_product_run measure with it unless told otherwise.
DEFAULT_INPUT_SIZE = 512


# Error types of this module start with this prefix; their messages already say what was given.
CUSTOM_ERROR_PREFIX = "profile_"


def _one_of(names) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


class CameraConfig(_Section):
    kind: str  # a registered camera kind (capture's registry: one file per kind)
    uri: str
    name: str = Field(default="cam1", min_length=1, max_length=100)
    fps: float | None = Field(default=None, gt=0, le=1000)
    loop: bool = False
    mode: Literal["live", "triggered"] = "live"
    exposure: float | None = Field(default=None, ge=0, le=1e8)  # the camera's own unit (often microseconds)
    gain: float | None = Field(default=None, ge=-1000, le=1000)
    trigger: Literal["software", "hardware"] | None = Field(default=None, validate_default=True)
    roi: tuple[int, int, int, int] | None = None
    # frames larger than this are refused (files: from the header, before decoding); see README "Limits"
    max_megapixels: float = Field(default=50.0, gt=0, le=500)

    @field_validator("kind")
    @classmethod
    def _registered_kind(cls, value: str) -> str:
        if value not in source_kinds():
            raise PydanticCustomError("profile_camera_kind", "input should be {expected} (got '{kind}')",
                                      {"expected": _one_of(source_kinds()), "kind": value})
        return value

    @field_validator("uri", mode="before")
    @classmethod
    def _device_index_as_text(cls, value: Any) -> Any:
        # `uri: 0` (a USB device index) is natural YAML; keep every uri a string.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("roi", mode="before")
    @classmethod
    def _roi_tuple(cls, value: Any) -> Any:
        if isinstance(value, tuple) and len(value) != 4:  # a YAML list, made a tuple by Section
            raise PydanticCustomError(
                "profile_roi", "expected [x, y, w, h]: 4 integers (got {roi})", {"roi": list(value)}
            )
        return value

    @field_validator("roi")
    @classmethod
    def _roi_positive(cls, value: tuple[int, int, int, int] | None) -> tuple[int, int, int, int] | None:
        if value is not None:
            x, y, w, h = value
            if x < 0 or y < 0 or w <= 0 or h <= 0 or max(value) > 100_000:
                raise PydanticCustomError(
                    "profile_roi", "expected [x, y, w, h] with x, y >= 0, w, h > 0, all at most 100000 (got {roi})", {"roi": list(value)}
                )
        return value

    @field_validator("trigger")
    @classmethod
    def _hardware_trigger_needs_a_kind_with_one(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if value == "hardware" and kind is not None and not source_class(kind).hardware_trigger:
            able = [k for k in source_kinds() if source_class(k).hardware_trigger]
            raise PydanticCustomError(
                "profile_trigger_kind", "a hardware trigger needs camera.kind {able} (got kind {kind})",
                {"kind": kind, "able": " or ".join(able)},
            )
        return value


class EngineConfig(_Section):
    input_size: int = Field(default=DEFAULT_INPUT_SIZE, ge=64, le=1024)
    shots: int = Field(default=4, ge=1, le=32)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    method: MethodName = "auto"  # auto: enrollment's self-test chooses (engine/self_test.py)
    # levels searched exhaustively: 3 / 3, its best 3 matches guiding level 2 / 2-3 / all (engine SEARCH_MODES);
    # auto: guided or wide, chosen per reference set from its shots
    search: SearchName = DEFAULT_SEARCH
    weights: str | None = None
    score_levels: list[int] = Field(default_factory=lambda: [1, 2, 3])  # backbone levels the score sums
    # augmented views of the reference shots in the pools (engine/reference_augment.py): for products
    # whose orientation or position varies
    augment: AugmentName = "none"
    # part: shots and frames turned so that one part on a plain background lies one way (engine/part_align.py),
    # for parts that lie at any angle (screws); auto: each reference set decides from its shots; none: never
    align: AlignName = DEFAULT_ALIGN
    image_score: str = Field(default="max", pattern=r"^(max|top\d+(\.\d+)?)$")  # max, or mean of the top P %
    local_features: bool = False  # 3x3 neighbourhood average of the features before matching
    # torch, or the exported graphs in ONNX Runtime (docs/engine.md, "The ONNX engine")
    runtime: Literal["torch", "onnxruntime"] = "torch"
    onnx: str | None = None  # a graph from `resad-station export --onnx`; None: exported once into the data dir
    # the engine's CPU threads; None: one fewer than the cores (at least 1), so that decoding and
    # recording keep a core of their own (docs/benchmarks.md, "Camera resolution": 18 against 12
    # inspected per second at 1080p on 2 cores)
    threads: int | None = Field(default=None, ge=1, le=256)

    @field_validator("score_levels")
    @classmethod
    def _levels(cls, value: list[int]) -> list[int]:
        if not value or not set(value) <= {1, 2, 3}:
            raise PydanticCustomError(
                "profile_levels", "must list some of the levels 1, 2, 3 (got {value})", {"value": value}
            )
        return sorted(set(value))

    @field_validator("input_size")
    @classmethod
    def _multiple_of_32(cls, value: int) -> int:
        if value % 32:
            raise PydanticCustomError(
                "profile_multiple_of_32", "must be a multiple of 32 (got {value})", {"value": value}
            )
        return value


class ThresholdsConfig(_Section):
    mode: Literal["auto", "manual"] = "auto"
    t_uncertain: float | None = Field(default=None, validate_default=True, ge=-1e9, le=1e9)
    t_fail: float | None = Field(default=None, validate_default=True, ge=-1e9, le=1e9)
    debounce_frames: int = Field(default=2, ge=1, le=1000)

    @field_validator("t_uncertain")
    @classmethod
    def _uncertain_required_when_manual(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None and info.data.get("mode") == "manual":
            raise PydanticCustomError("profile_required_when_manual", "required when thresholds.mode is manual")
        return value

    @field_validator("t_fail")
    @classmethod
    def _fail_above_uncertain(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            if info.data.get("mode") == "manual":
                raise PydanticCustomError("profile_required_when_manual", "required when thresholds.mode is manual")
            return value
        low = info.data.get("t_uncertain")
        if low is not None and value <= low:
            raise PydanticCustomError(
                "profile_threshold_order",
                "must be greater than t_uncertain (got {t_fail} <= {t_uncertain})",
                {"t_fail": value, "t_uncertain": low},
            )
        return value


class AlarmConfig(_Section):
    sound: bool = True
    latch: bool = True
    on_falling_behind: bool = False  # raise the alarm when verdicts come later than max_verdict_delay_s
    max_verdict_delay_s: float = Field(default=1.0, gt=0.0)


class DriftConfig(_Section):
    """The drift warning (resad_station/runtime/drift.py): CUSUM + EWMA of good frames' scores."""

    enabled: bool = True
    baseline_frames: int = Field(default=50, ge=5, le=10_000)  # good frames that set the baseline
    slack: float = Field(default=0.75, ge=0.0, le=5.0)  # CUSUM allowance k, in sigma
    limit: float = Field(default=10.0, gt=0.0, le=1000.0)  # CUSUM decision interval h, in sigma
    ewma_lambda: float = Field(default=0.1, gt=0.0, le=1.0)
    clip: float = Field(default=4.0, gt=0.0, le=100.0)  # one frame's |z| counts at most this


class RecordingConfig(_Section):
    keep_images: tuple[VerdictName, ...] = ("uncertain", "fail")
    pass_sampling: float = Field(default=0.1, ge=0.0, le=1.0)
    retention_days: int = Field(default=30, ge=1, le=36500)
    queue_size: int = Field(default=256, ge=1, le=100_000)

    @field_validator("keep_images")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise PydanticCustomError("profile_repeated", "lists a verdict twice (got {value})", {"value": list(value)})
        return value


class EnrollmentConfig(_Section):
    references: str | None = None
    validation: str | None = None


class Profile(_Section):
    """One product profile. Frozen; `source_path` is the YAML file it came from (None if none)."""

    name: str = Field(min_length=1, max_length=200)
    product: str = Field(min_length=1, max_length=200)
    camera: CameraConfig
    engine: EngineConfig = EngineConfig()
    thresholds: ThresholdsConfig = ThresholdsConfig()
    alarm: AlarmConfig = AlarmConfig()
    drift: DriftConfig = DriftConfig()
    recording: RecordingConfig = RecordingConfig()
    enrollment: EnrollmentConfig = EnrollmentConfig()
    outputs: tuple[config_union(), ...] = ()  # one typed config per kind (resad_station/outputs/kinds)

    _source_path: Path | None = PrivateAttr(default=None)

    @field_validator("outputs")
    @classmethod
    def _output_names_unique(cls, value: tuple) -> tuple:
        names = [o.label for o in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise PydanticCustomError("profile_output_names", "two outputs are called {name}: give each a `name:`",
                                      {"name": repeated[0]})
        return value

    @property
    def source_path(self) -> Path | None:
        return self._source_path

    @property
    def base_dir(self) -> Path:
        """The folder relative paths resolve against: the profile file's folder (else the cwd)."""
        return self._source_path.parent if self._source_path is not None else Path.cwd()

    def resolve_path(self, value: str | Path) -> Path:
        """An absolute path for `value`; relative ones resolve against the profile's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def camera_location(self) -> str:
        """camera.uri ready to open: a resolved path for file kinds, the uri as is otherwise."""
        if source_class(self.camera.kind).uri_is_path:
            return str(self.resolve_path(self.camera.uri))
        return self.camera.uri

    def with_source(self, path: Path | None) -> "Profile":
        """A copy that remembers `path` as its source file."""
        copy = self.model_copy()
        copy._source_path = Path(path).resolve() if path is not None else None
        return copy
