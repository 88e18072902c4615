"""The display path's rate limit: schedule-based, tolerant of jitter, never bursting after a gap."""

from __future__ import annotations

import pytest

from resad_station.runtime.pipeline import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def passed(limiter: RateLimiter, clock: FakeClock, times: list[float]) -> list[float]:
    out = []
    for t in times:
        clock.now = t
        if limiter.allow():
            out.append(t)
    return out


def test_a_faster_camera_is_cut_to_the_limit():
    clock = FakeClock()
    times = [k / 60 for k in range(120)]  # 2 s at 60 fps
    kept = passed(RateLimiter(30, clock), clock, times)
    assert len(kept) == 60
    assert kept == times[::2]


def test_a_camera_at_the_limit_with_jitter_keeps_every_frame():
    clock = FakeClock()
    jitter = [0.004, -0.005, 0.003, -0.004]
    times = [k / 30 + jitter[k % 4] for k in range(1, 91)]
    assert passed(RateLimiter(30, clock), clock, times) == times


def test_no_burst_after_a_pause():
    clock = FakeClock()
    limiter = RateLimiter(10, clock)
    passed(limiter, clock, [0.0, 0.1, 0.2])
    kept = passed(limiter, clock, [5.0 + k / 100 for k in range(100)])  # 1 s at 100 fps after a 5 s gap
    assert kept[0] == 5.0 and len(kept) in (10, 11)
    assert min(b - a for a, b in zip(kept, kept[1:])) >= 0.075 - 1e-9  # never closer than the slack allows


def test_none_lets_everything_through_and_a_bad_rate_is_refused():
    clock = FakeClock()
    assert len(passed(RateLimiter(None, clock), clock, [0.0] * 5)) == 5
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_a_late_frame_does_not_let_the_next_one_through_at_once():
    clock = FakeClock()
    limiter = RateLimiter(10, clock)
    kept = passed(limiter, clock, [0.0, 0.1, 0.199, 0.2005, 0.26, 0.3])
    assert 0.2005 not in kept and min(b - a for a, b in zip(kept, kept[1:])) >= 0.075 - 1e-9
