"""A product's reference set: backbone features of its K good shots, and their score statistics.

Serialised as safetensors bytes (stored in the database) with metadata naming the backbone, input
size, preprocessing, engine version and K, and a sha256 over the tensors that loading checks.
"""

from __future__ import annotations

import hashlib
import json
import math

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from engine.backbone import BACKBONE_ID
from engine.errors import ReferenceSetError
from engine.nn_search import LevelPool
from engine.part_align import ALIGN_AUTO, SET_ALIGNS, align_key
from engine.preprocess import LEGACY_PREPROCESS_ID, PREPROCESS_ID
from engine.version import ENGINE_VERSION

SET_SEARCHES = ("guided", "wide")  # what a reference set chooses under engine.search "auto" (engine/search_choice.py)


def _content_hash(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _align_of_legacy_stats(stats: dict) -> str | None:
    """How a set saved before its align was recorded was turned: its statistics' keys name the
    turn (part_align.align_key); None when it has no statistics."""
    if not stats:
        return None
    return "part" if any(align_key("part") in name for name in stats) else "none"


class ReferenceSet:
    """maps[i][l]: features of shot i at level l, (C_l, H_l, W_l) float32 on the CPU."""

    def __init__(
        self,
        maps: list[list[torch.Tensor]],
        input_size: int,
        backbone: str = BACKBONE_ID,
        engine_version: str = ENGINE_VERSION,
        stats: dict[str, torch.Tensor] | None = None,
        preprocess: str = PREPROCESS_ID,
        views: list[tuple[int, list[torch.Tensor]]] | None = None,
        short_side: int | None = None,
        align: str | None = None,
        search: str | None = None,
        search_excess: float | None = None,
    ):
        if not maps:
            raise ReferenceSetError("a reference set needs reference images, got none")
        self.maps = maps
        self.input_size = int(input_size)
        self.backbone = backbone
        self.engine_version = engine_version
        self.preprocess = preprocess
        # the shots' median short side: frames are resized at the shots' scale (engine/preprocess.py);
        # None (sets made before it was recorded): each frame at its own short side
        self.short_side = None if short_side is None else int(short_side)
        # how the shots were turned (engine/part_align.py: "none" or "part"; under engine.align "auto"
        # the set's own choice); None (sets made before it was recorded): as the detector says
        if align is not None and align not in SET_ALIGNS:
            raise ReferenceSetError(f"reference set: align {align!r}, expected one of {SET_ALIGNS}")
        self.align = align
        # under engine.search "auto" the set's own choice and the signal it was made on
        # (engine/search_choice.py); None: not chosen yet (decided on first use)
        if search is not None and search not in SET_SEARCHES:
            raise ReferenceSetError(f"reference set: search {search!r}, expected one of {SET_SEARCHES}")
        self.search = search
        self.search_excess = None if search_excess is None else float(search_excess)
        self.stats: dict[str, torch.Tensor] = dict(stats or {})
        # augmented views (engine/reference_augment.py): (index of the shot they come from, maps);
        # they join the pools, and leave-one-out leaves a shot out together with its views
        self.views: list[tuple[int, list[torch.Tensor]]] = list(views or [])
        # leave-one-out image score of each shot, per stats key (recomputed after loading: cheap)
        self.loo_scores: dict[str, list[float]] = {}
        # under engine.method "auto": the method this set's self-test chose (engine/self_test.py); the
        # station keeps it with the calibration and sets it again after loading
        self.method: str | None = None
        self._pools: dict[tuple, list[LevelPool]] = {}

    @property
    def k(self) -> int:
        return len(self.maps)

    @property
    def levels(self) -> int:
        return len(self.maps[0])

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for shot in self.maps for t in shot)

    def pools(self, device, exclude: int | None = None) -> list[LevelPool]:
        """Per-level pools on `device`, of all shots or all but one (leave-one-out)."""
        key = (str(device), exclude)
        if key not in self._pools:
            shots = [m for i, m in enumerate(self.maps) if i != exclude]
            if not shots:
                raise ReferenceSetError("leave-one-out needs at least 2 reference images")
            shots += [m for i, m in self.views if i != exclude]
            self._pools[key] = [
                LevelPool.from_maps([s[l].to(device) for s in shots]) for l in range(self.levels)
            ]
        return self._pools[key]

    def check_compatible(self, backbone: str, input_size: int, preprocess: str = PREPROCESS_ID,
                         align: str = ALIGN_AUTO) -> None:
        """align: the detector's; a fixed one must be the set's (its shots were turned, or not, so)."""
        if align != ALIGN_AUTO and self.align is not None and self.align != align:
            raise ReferenceSetError(
                f"reference set was built with align {self.align!r}, this detector uses {align!r}: "
                f"enroll the product again or set engine.align to {self.align} (or auto)"
            )
        if self.backbone != backbone:
            raise ReferenceSetError(
                f"reference set was built for backbone {self.backbone!r}, this detector uses {backbone!r}: "
                "enroll the product again"
            )
        if self.input_size != input_size:
            raise ReferenceSetError(
                f"reference set was built at input size {self.input_size}, this detector uses {input_size}: "
                "enroll the product again or set engine.input_size to match"
            )
        if self.preprocess != preprocess:
            raise ReferenceSetError(
                f"reference set was built with preprocessing {self.preprocess!r}, this engine uses {preprocess!r} "
                "(its features would not match the frames'): rebuild it from its images or enroll the product again"
            )

    # -- serialisation -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        tensors = {f"shot{i:03d}.level{l}": t.contiguous() for i, shot in enumerate(self.maps) for l, t in enumerate(shot)}
        tensors.update({f"stats.{name}": s.contiguous() for name, s in self.stats.items()})
        tensors.update({f"view{j:03d}.level{l}": t.contiguous() for j, (_, shot) in enumerate(self.views)
                        for l, t in enumerate(shot)})
        meta = {
            "format": "resad-station/reference-set",
            "backbone": self.backbone,
            "input_size": str(self.input_size),
            "preprocess": self.preprocess,
            "engine_version": self.engine_version,
            "k": str(self.k),
            "levels": str(self.levels),
            "stats": json.dumps(sorted(self.stats)),
            "views_of": json.dumps([i for i, _ in self.views]),
            **({} if self.short_side is None else {"short_side": str(self.short_side)}),
            **({} if self.align is None else {"align": self.align}),
            **({} if self.search is None else {"search": self.search}),
            **({} if self.search_excess is None else {"search_excess": repr(self.search_excess)}),
            "sha256": _content_hash(tensors),
        }
        return st_save(tensors, metadata=meta)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "ReferenceSet":
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise ReferenceSetError(f"reference set: expected safetensors bytes, got {type(blob).__name__}")
        if len(blob) < 8:
            raise ReferenceSetError(f"reference set: expected safetensors bytes, got {len(blob)} byte(s)"
                                    f"{' (an empty blob)' if not len(blob) else ''}")
        blob = bytes(blob)
        try:
            header_len = int.from_bytes(blob[:8], "little")
            meta = json.loads(blob[8 : 8 + header_len]).get("__metadata__", {})
            tensors = st_load(blob)
        except Exception as exc:
            raise ReferenceSetError(f"reference set: not a readable safetensors blob ({exc})") from exc
        if meta.get("format") != "resad-station/reference-set":
            raise ReferenceSetError("reference set: the blob is safetensors but not a ResAD Station reference set")
        if _content_hash(tensors) != meta.get("sha256"):
            raise ReferenceSetError("reference set: content hash does not match its metadata (corrupted or modified)")
        try:
            k, levels = int(meta["k"]), int(meta["levels"])
            maps = [[tensors[f"shot{i:03d}.level{l}"] for l in range(levels)] for i in range(k)]
            stats = {name: tensors[f"stats.{name}"] for name in json.loads(meta.get("stats", "[]"))}
            views_of = [int(i) for i in json.loads(meta.get("views_of", "[]"))]
            views = [(i, [tensors[f"view{j:03d}.level{l}"] for l in range(levels)]) for j, i in enumerate(views_of)]
            extra = set(tensors) - {f"shot{i:03d}.level{l}" for i in range(k) for l in range(levels)} - {
                f"stats.{name}" for name in stats} - {f"view{j:03d}.level{l}" for j in range(len(views)) for l in range(levels)}
            if extra or k < 1 or levels < 1:
                raise KeyError(sorted(extra)[0] if extra else "k/levels")
            short_side = int(meta["short_side"]) if "short_side" in meta else None
            if short_side is not None and short_side < 1:
                raise ValueError(f"short_side {short_side}")
            excess = float(meta["search_excess"]) if "search_excess" in meta else None
            if excess is not None and not math.isfinite(excess):
                raise ValueError(f"search_excess {excess}")
            return cls(maps, int(meta["input_size"]), meta["backbone"], meta["engine_version"], stats,
                       meta.get("preprocess", LEGACY_PREPROCESS_ID), views, short_side,
                       meta.get("align") or _align_of_legacy_stats(stats), meta.get("search"), excess)
        except ReferenceSetError:  # the constructor's own (an align that is no turn): said as it is
            raise
        except (KeyError, ValueError, TypeError) as exc:
            raise ReferenceSetError(
                f"reference set: corrupt metadata (k={meta.get('k')!r}, levels={meta.get('levels')!r} do not match "
                f"its {len(tensors)} tensors: {exc})") from None
