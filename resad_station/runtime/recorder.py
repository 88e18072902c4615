"""Recorder thread: inspection rows and defect images, written off the inspection thread.

The inspection thread calls `submit()`, which never blocks: the queue is bounded, and when it
is full the recorder first evicts a queued PASS row to make room for an UNCERTAIN/FAIL one
(defects matter more than sampled passes); if nothing can be evicted the new item is skipped.
Every skip is counted and remembered (frame, verdict, score, time); the skip report goes to the
sink when the recorder stops, so what was lost is on record.

Pass rows are sampled deterministically (`pass_sampling` = fraction written: 0.1 -> every 10th
pass), before queueing, so unsampled passes cost nothing.

Defect references: `record()` gives each UNCERTAIN/FAIL frame that will get a defect row a
fresh reference (a UUID) at decision time, before anything is written, so the verdict message
can name the defect row the recorder writes later (outputs' `defect_id`). The reference is
made here, where the policy and the queue say whether the row will exist: a verdict that
keep_images does not keep, or that is skipped because the queue is full, goes out without one.
A UUID needs no coordination, so stations sharing one database never hand out the same one.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Protocol, Sequence

from resad_station.runtime.events import FrameResult, Verdict
from resad_station.runtime.thread_priority import lower_this_thread

log = logging.getLogger(__name__)

MAX_SKIP_DETAILS = 10_000  # remembered skips; the count itself is exact beyond this


def new_defect_ref() -> str:
    """A defect row's reference: unique across every station writing to one database."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class RecordItem:
    result: FrameResult
    keep_images: bool  # write image, heatmap overlay and raw map files
    is_defect: bool  # UNCERTAIN or FAIL: gets a defect row


@dataclass(frozen=True)
class SkippedRecord:
    frame_index: int
    verdict: str
    score: float
    captured_at: float
    source_name: str


@dataclass
class SkipReport:
    camera: str
    count: int = 0
    by_verdict: dict[str, int] = field(default_factory=dict)
    details: list[SkippedRecord] = field(default_factory=list)


class RecordSink(Protocol):
    """Where records go (the database + image store in the app; anything in tests)."""

    def write(self, items: Sequence[RecordItem]) -> None: ...

    def write_skipped(self, report: SkipReport) -> None: ...


@dataclass(frozen=True)
class RecordingPolicy:
    keep_images: frozenset[Verdict] = frozenset({Verdict.UNCERTAIN, Verdict.FAIL})
    pass_sampling: float = 1.0

    @classmethod
    def from_values(cls, keep_images: Iterable[str | Verdict], pass_sampling: float) -> "RecordingPolicy":
        if not 0.0 <= float(pass_sampling) <= 1.0:
            raise ValueError(f"recording.pass_sampling must be in 0..1, got {pass_sampling}")
        return cls(frozenset(Verdict(v) for v in keep_images), float(pass_sampling))


class Recorder:
    def __init__(
        self,
        sink: RecordSink,
        camera: str = "camera",
        policy: RecordingPolicy | None = None,
        queue_size: int = 64,
        batch_max: int = 32,
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"recording.queue_size must be >= 1, got {queue_size}")
        self.sink = sink
        self.camera = camera
        self.policy = policy or RecordingPolicy()
        self.queue_size = int(queue_size)
        self.batch_max = int(batch_max)
        self._queue: deque[RecordItem] = deque()
        self._tasks: deque[Callable[[], None]] = deque()  # rare writes (alarm rows): never skipped
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pass_credit = 0.0
        self._skips = SkipReport(camera=camera)
        self.written = 0
        self.write_errors = 0
        self.sampled_out = 0  # passes not written by policy (not a loss)
        self.max_depth = 0  # deepest the queue got (for the benchmark)
        self._busy = False
        self.joined = True  # False when stop() timed out with writes still going

    # -- inspection thread side ---------------------------------------------------------------

    @property
    def skipped(self) -> int:
        return self._skips.count

    def set_policy(self, policy: RecordingPolicy) -> None:
        with self._cond:
            self.policy = policy

    def submit(self, result: FrameResult) -> bool:
        """Queue one result for writing; never blocks. Returns False when it was skipped."""
        with self._cond:
            policy = self.policy
            is_defect = result.verdict is not Verdict.PASS
            if not is_defect and not self._sample_pass(policy.pass_sampling):
                self.sampled_out += 1
                return True
            item = RecordItem(result, keep_images=result.verdict in policy.keep_images, is_defect=is_defect)
            if len(self._queue) >= self.queue_size:
                victim = self._evict_pass() if is_defect else None
                if victim is None:
                    self._note_skip(result)
                    return False
                self._note_skip(victim.result)
            self._queue.append(item)
            self.max_depth = max(self.max_depth, len(self._queue))
            self._cond.notify()
            return True

    def record(self, result: FrameResult) -> FrameResult:
        """Queue `result` as submit() does and return it as listeners should see it: with a new
        `defect_ref` when it will get a defect row (UNCERTAIN/FAIL kept by the policy and
        queued), with none otherwise (a PASS, a verdict not kept, a skip)."""
        with self._cond:  # one decision with submit's: the policy cannot change in between
            kept = result.verdict is not Verdict.PASS and result.verdict in self.policy.keep_images
            if kept:
                result = replace(result, defect_ref=new_defect_ref())
            elif result.defect_ref is not None:
                result = replace(result, defect_ref=None)
            if not self.submit(result) and kept:
                result = replace(result, defect_ref=None)
        return result

    def submit_task(self, task: Callable[[], None]) -> None:
        """Run `task` on the recorder thread (alarm and audit rows). Unbounded: these are rare.

        When the recorder is not running (stopped, or before start) the task runs right here.
        """
        with self._cond:
            if self._thread is not None and not self._stopping:
                self._tasks.append(task)
                self._cond.notify()
                return
        self._run_task(task)

    def _run_task(self, task: Callable[[], None]) -> None:
        try:
            task()
        except Exception:
            log.exception("recorder %s: a queued write failed", self.camera)

    def _sample_pass(self, fraction: float) -> bool:
        # Deterministic: accumulate the fraction, write when a whole row's credit is there.
        self._pass_credit += fraction
        if self._pass_credit >= 1.0 - 1e-9:
            self._pass_credit -= 1.0
            return True
        return False

    def _evict_pass(self) -> RecordItem | None:
        for i, queued in enumerate(self._queue):
            if not queued.is_defect:
                del self._queue[i]
                return queued
        return None

    def _note_skip(self, result: FrameResult) -> None:
        s = self._skips
        s.count += 1
        s.by_verdict[result.verdict.value] = s.by_verdict.get(result.verdict.value, 0) + 1
        if len(s.details) < MAX_SKIP_DETAILS:
            s.details.append(
                SkippedRecord(result.frame_index, result.verdict.value, result.score, result.captured_at, result.source_name)
            )

    # -- recorder thread ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("recorder already started")
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.camera}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # encoding and writing must not take the cores from inspection (docs/benchmarks.md, "Camera resolution")
        lower_this_thread()
        while True:
            with self._cond:
                while not self._queue and not self._tasks and not self._stopping:
                    self._cond.wait()
                if not self._queue and not self._tasks and self._stopping:
                    return
                tasks = list(self._tasks)
                self._tasks.clear()
                n = min(self.batch_max, len(self._queue))
                batch = [self._queue.popleft() for _ in range(n)]
                self._busy = True
            for task in tasks:
                self._run_task(task)
            if batch:
                self._write(batch)
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _write(self, batch: list[RecordItem]) -> None:
        try:
            self.sink.write(batch)
            self.written += len(batch)
        except Exception as exc:  # a failed write must not kill the recorder; the rows are counted lost
            if len(batch) > 1:
                # one bad record (an unencodable frame, a file that cannot be written) must not take the
                # innocent ones of its batch with it: the batch was one transaction, so retry them one by one
                for item in batch:
                    self._write([item])
                return
            self.write_errors += 1
            log.error("recorder %s: writing the record of frame %s failed: %s: %s", self.camera,
                      getattr(batch[0], "frame_index", "?"), type(exc).__name__, exc)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until everything queued so far is written (tests, enrollment switch)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._tasks or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout: float = 5.0) -> SkipReport:
        """Flush what is queued, record the skip report, join the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self.joined = not self._thread.is_alive()
            if not self.joined:
                log.error("recorder %s: still writing after %.1f s", self.camera, timeout)
            self._thread = None
        report = self.skip_report()
        if report.count:
            try:
                self.sink.write_skipped(report)
            except Exception:
                log.exception("recorder %s: writing the skip report failed", self.camera)
        return report

    def skip_report(self) -> SkipReport:
        with self._cond:
            s = self._skips
            return SkipReport(s.camera, s.count, dict(s.by_verdict), list(s.details))
