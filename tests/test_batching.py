"""MicroBatcher: concurrent callers share batches, each gets its own result, failures reach every waiter."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from paper_rag.batching import MicroBatcher


def test_concurrent_callers_are_batched_and_get_their_own_results() -> None:
    batches: list[int] = []

    def square_slowly(items: Sequence[int]) -> list[int]:
        batches.append(len(items))
        time.sleep(0.05)  # long enough for the other callers to queue behind the first batch
        return [i * i for i in items]

    batcher = MicroBatcher(square_slowly, max_batch=8)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(batcher, range(40)))
    assert results == [i * i for i in range(40)]
    assert sum(batches) == 40
    assert max(batches) > 1, batches
    assert max(batches) <= 8, batches


def test_a_lone_caller_runs_at_once() -> None:
    batcher = MicroBatcher(lambda items: [str(i) for i in items])
    assert batcher(7) == "7"
    assert batcher(8) == "8"


def test_a_failure_reaches_every_caller_in_the_batch_and_the_batcher_recovers() -> None:
    started = threading.Event()
    release = threading.Event()
    calls = 0

    def compute(items: Sequence[int]) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:  # hold the first batch so the others queue up together
            started.set()
            release.wait(5)
            return list(items)
        if calls == 2:
            raise ValueError("model crashed")
        return list(items)

    batcher = MicroBatcher(compute)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(batcher, 0)
        started.wait(5)
        queued = [pool.submit(batcher, i) for i in (1, 2, 3)]
        time.sleep(0.1)
        release.set()
        assert first.result(5) == 0
        for future in queued:
            with pytest.raises(ValueError, match="model crashed"):
                future.result(5)
    assert batcher(9) == 9
