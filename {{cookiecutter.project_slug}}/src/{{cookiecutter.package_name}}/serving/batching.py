"""Batching that never waits: requests that arrive while the model is busy share its next call.

A call to this model costs about the same for 1 row as for 64, so merging
concurrent requests multiplies throughput. BentoML's adaptive batching holds a request back while it
waits for others, polling every millisecond: measured here, it doubled the server's CPU time per
request at one client, and in some runs held lone requests for 38 to 107 ms (the Lastmile template's
docs/benchmarks.md). This batcher starts the model the moment it is idle, with everything queued
so far: a lone request goes straight through, and under load each call takes all that piled up
during the previous one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Row = TypeVar("Row")
Result = TypeVar("Result")


class Batcher(Generic[Row, Result]):
    """Run `predict` on the rows of queued requests, at most one call at a time, at most `max_rows` rows each.

    The calls run in one thread of their own, set up once by `initializer` (the service limits the
    model's OpenMP threads there: that limit holds only in the thread that sets it).
    """

    def __init__(
        self,
        predict: Callable[[list[Row]], Sequence[Result]],
        max_rows: int,
        initializer: Callable[[], object] | None = None,
    ) -> None:
        self.predict = predict
        self.max_rows = max_rows
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict", initializer=initializer)
        self.queue: deque[tuple[list[Row], asyncio.Future[list[Result]]]] = deque()
        self.busy = False

    async def __call__(self, rows: list[Row]) -> list[Result]:
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        self.queue.append((rows, future))
        if not self.busy:
            self.busy = True
            asyncio.get_running_loop().create_task(self.drain())
        return await future

    def take(self) -> list[tuple[list[Row], asyncio.Future[list[Result]]]]:
        """Whole requests from the head of the queue, up to max_rows rows (always at least one request)."""
        taken: list[tuple[list[Row], asyncio.Future[list[Result]]]] = []
        size = 0
        while self.queue and (not taken or size + len(self.queue[0][0]) <= self.max_rows):
            rows, future = self.queue.popleft()
            if future.cancelled():  # its client left while it queued: nothing to compute
                continue
            taken.append((rows, future))
            size += len(rows)
        return taken

    async def drain(self) -> None:
        try:
            while batch := self.take():
                rows = [row for request, _ in batch for row in request]
                try:
                    # In a thread, so the event loop keeps reading requests (the next batch) meanwhile.
                    results = await asyncio.get_running_loop().run_in_executor(self.thread, self.predict, rows)
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                start = 0
                for request, future in batch:
                    if not future.done():
                        future.set_result(list(results[start : start + len(request)]))
                    start += len(request)
        finally:
            self.busy = False
