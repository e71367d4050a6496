"""Micro-batching for concurrent callers: requests that arrive while a batch is being computed wait and go
together in the next one. One forward pass over ten short queries costs little more than one over a single
query, while ten passes from ten threads fight over the same cores."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Request(Generic[Item, Result]):
    __slots__ = ("item", "result", "error", "done")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.done = False


class MicroBatcher(Generic[Item, Result]):
    """`compute(items)` runs on one caller's thread at a time (the leader) for everything queued so far.

    No timer: a lone caller runs at once, so batching adds no latency when the service is idle.
    """

    def __init__(self, compute: Callable[[Sequence[Item]], Sequence[Result]], *, max_batch: int = 64) -> None:
        self._compute = compute
        self._max_batch = max_batch
        self._condition = threading.Condition()
        self._queue: list[_Request[Item, Result]] = []
        self._busy = False

    def __call__(self, item: Item) -> Result:
        request: _Request[Item, Result] = _Request(item)
        with self._condition:
            self._queue.append(request)
        while True:
            with self._condition:
                while self._busy and not request.done:
                    self._condition.wait()
                if request.done:
                    break
                self._busy = True
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            self._run(batch)
        if request.error is not None:
            raise request.error
        return request.result  # type: ignore[return-value]

    def _run(self, batch: list[_Request[Item, Result]]) -> None:
        try:
            results = self._compute([r.item for r in batch])
            for request, result in zip(batch, results, strict=True):
                request.result = result
        except BaseException as exc:  # every waiter in the batch sees the failure, none hangs
            for request in batch:
                request.error = exc
        finally:
            with self._condition:
                for request in batch:
                    request.done = True
                self._busy = False
                self._condition.notify_all()
