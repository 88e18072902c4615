"""How often the drift warning is wrong, and how fast it is right: a Monte-Carlo on normal scores.

    python -m resad_station.runtime.drift_bench [--runs 40] [--frames 20000]

Good scores are N(0, 1) (in units of their own spread); the baseline is learned from the first
`baseline_frames` of each run, as on the line. Prints, for the profile defaults and a few
alternatives, the runs with a false warning within --frames steady frames, and the median
(and worst) number of frames until a warning after a shift of 1, 1.5 and 2 sigma.
"""

from __future__ import annotations

import argparse

import numpy as np

from resad_station.runtime.drift import DriftMonitor, DriftSettings
from resad_station.runtime.events import Verdict

CALIBRATION = {"mean": 10.0, "std": 0.1, "max": 10.0}  # above the scores: the line's own baseline rules


def _warned(monitor: DriftMonitor, scores: np.ndarray) -> int | None:
    for i, s in enumerate(scores):
        if monitor.observe(float(s), Verdict.PASS, float(i)) and monitor.warning:
            return i
    return None


def false_warnings(settings: DriftSettings, runs: int, frames: int, seed: int = 1) -> int:
    rng = np.random.default_rng(seed)
    return sum(_warned(DriftMonitor(settings, "c", "p", CALIBRATION), rng.normal(0, 1, frames)) is not None
               for _ in range(runs))


def delays(settings: DriftSettings, shift: float, runs: int, seed: int = 2, cap: int = 2000) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        m = DriftMonitor(settings, "c", "p", CALIBRATION)
        _warned(m, rng.normal(0, 1, settings.baseline_frames))
        found = _warned(m, shift + rng.normal(0, 1, cap))
        out.append(cap if found is None else found + 1)
    return int(np.median(out)), int(max(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--frames", type=int, default=20000)
    args = parser.parse_args()
    default = DriftSettings()
    for name, s in (("defaults", default), ("slack 0.5, limit 8", DriftSettings(slack=0.5, limit=8.0)),
                    ("slack 1.0, limit 8", DriftSettings(slack=1.0, limit=8.0)),
                    ("baseline 10", DriftSettings(baseline_frames=10))):
        shifts = ", ".join(f"{d}: {delays(s, d, args.runs)[0]} (worst {delays(s, d, args.runs)[1]})" for d in (1.0, 1.5, 2.0))
        print(f"{name:20s} false warnings in {false_warnings(s, args.runs, args.frames)}/{args.runs} runs of "
              f"{args.frames} steady frames; frames to warn after a shift of (sigma) {shifts}")


if __name__ == "__main__":
    main()
