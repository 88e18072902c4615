"""Alarm state machine: debounce table, latch, acknowledge, clear, re-raise."""

import pytest

from resad_station.runtime.alarms import AlarmMachine, AlarmState
from resad_station.runtime.events import AlarmStatus, Verdict

P, U, F = Verdict.PASS, Verdict.UNCERTAIN, Verdict.FAIL


def run(machine, verdicts):
    """Feed verdicts; return the alarm statuses raised per frame, as a compact string."""
    out = []
    for i, v in enumerate(verdicts):
        events = machine.observe(v, score=float(i), frame_index=i)
        out.append("".join(e.status.value[0].upper() for e in events) or ".")
    return "".join(out)


@pytest.mark.parametrize(
    "n, verdicts, expected",
    [
        (1, [P, F, P], ".R."),  # latched: a pass does not clear
        (2, [F, P, F, P], "...."),  # never 2 in a row
        (2, [F, F], ".R"),
        (3, [F, F, U, F], "...R"),  # uncertain neither counts nor breaks the run
        (3, [F, F, P, F, F, F], ".....R"),
        (2, [F, F, F, F, F], ".R..."),  # one alarm for one fault, not one per frame
    ],
)
def test_debounce_table_latched(n, verdicts, expected):
    assert run(AlarmMachine("cam", "p", debounce_frames=n, latch=True), verdicts) == expected


@pytest.mark.parametrize(
    "n, verdicts, expected",
    [
        (1, [F, P], "RC"),  # unlatched: the first pass clears
        (2, [F, F, U, P], ".R.C"),
        (2, [F, F, P, F, F], ".RC.R"),
    ],
)
def test_debounce_table_unlatched(n, verdicts, expected):
    assert run(AlarmMachine("cam", "p", debounce_frames=n, latch=False), verdicts) == expected


def test_latched_alarm_stays_until_acknowledged_then_clears_on_pass():
    m = AlarmMachine("cam", "board", debounce_frames=2, latch=True)
    assert run(m, [F, F, P, P]) == ".R.."
    assert m.state is AlarmState.RAISED and m.active
    # The line has recovered already (last verdict pass): acknowledging clears at once.
    events = m.acknowledge()
    assert [e.status for e in events] == [AlarmStatus.ACKNOWLEDGED, AlarmStatus.CLEARED]
    assert m.state is AlarmState.IDLE and not m.active
    assert all(e.product == "board" and e.camera == "cam" for e in events)


def test_acknowledge_while_still_failing_silences_then_pass_clears():
    m = AlarmMachine("cam", "p", debounce_frames=2, latch=True)
    run(m, [F, F, F])
    assert [e.status for e in m.acknowledge()] == [AlarmStatus.ACKNOWLEDGED]
    assert m.state is AlarmState.ACKNOWLEDGED and not m.active
    assert run(m, [F]) == "."  # one more fail is not yet N new ones
    assert run(m, [P]) == "C"
    assert m.state is AlarmState.IDLE


def test_acknowledged_fault_that_persists_raises_again_after_n_more_fails():
    m = AlarmMachine("cam", "p", debounce_frames=3, latch=True)
    run(m, [F, F, F])
    m.acknowledge()
    assert run(m, [F, F, F]) == "..R"
    assert m.active


def test_acknowledge_without_alarm_does_nothing():
    m = AlarmMachine("cam", "p", debounce_frames=1)
    assert m.acknowledge() == []
    run(m, [F])
    m.acknowledge()
    assert m.acknowledge() == []  # a second acknowledge is not a new event


def test_event_carries_score_and_frame_of_the_triggering_fail():
    m = AlarmMachine("cam", "p", debounce_frames=2, clock=lambda: 123.0)
    m.observe(F, score=5.0, frame_index=10)
    (event,) = m.observe(F, score=7.5, frame_index=11)
    assert (event.status, event.score, event.frame_index, event.time) == (AlarmStatus.RAISED, 7.5, 11, 123.0)


def test_product_switch_clears_an_open_alarm_and_resets_the_count():
    m = AlarmMachine("cam", "old", debounce_frames=2)
    run(m, [F, F])
    (event,) = m.reset(product="new")
    assert event.status is AlarmStatus.CLEARED and event.product == "old"
    assert m.product == "new"
    m.observe(F)
    assert m.state is AlarmState.IDLE  # the count started again from zero


def test_debounce_must_be_positive():
    with pytest.raises(ValueError, match="debounce_frames"):
        AlarmMachine("cam", "p", debounce_frames=0)
