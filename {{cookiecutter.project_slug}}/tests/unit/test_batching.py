"""The batcher merges requests that queue while the model is busy, and gives each its own answers."""

from __future__ import annotations

import asyncio
import threading

import pytest

from {{ cookiecutter.package_name }}.serving.batching import Batcher


class SlowModel:
    """Doubles each row; the first call waits until released, so later requests queue behind it."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.release = threading.Event()

    def __call__(self, rows: list[int]) -> list[int]:
        self.calls.append(rows)
        if len(self.calls) == 1:
            self.release.wait(10)
        if -1 in rows:
            raise ValueError("the model cannot take -1")
        return [2 * row for row in rows]


async def queued_behind_a_busy_model(model: SlowModel, batcher: Batcher[int, int], requests: list[list[int]]) -> list:
    first = asyncio.create_task(batcher([0]))
    while not model.calls:  # the first call is running
        await asyncio.sleep(0.001)
    rest = [asyncio.create_task(batcher(rows)) for rows in requests]
    await asyncio.sleep(0.01)  # every request is queued
    model.release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_a_lone_request_goes_straight_through() -> None:
    model = SlowModel()
    model.release.set()
    assert asyncio.run(Batcher(model, max_rows=10)([1, 2])) == [2, 4]
    assert model.calls == [[1, 2]]


def test_requests_queued_while_the_model_is_busy_share_one_call_and_keep_their_rows() -> None:
    model = SlowModel()
    answers = asyncio.run(queued_behind_a_busy_model(model, Batcher(model, max_rows=10), [[1], [2, 3], [4]]))
    assert answers == [[0], [2], [4, 6], [8]]
    assert model.calls == [[0], [1, 2, 3, 4]]


def test_a_call_never_exceeds_the_row_limit_but_a_larger_request_still_runs_alone() -> None:
    model = SlowModel()
    answers = asyncio.run(queued_behind_a_busy_model(model, Batcher(model, max_rows=3), [[1, 2], [3, 4], [5, 6, 7, 8]]))
    assert answers == [[0], [2, 4], [6, 8], [10, 12, 14, 16]]
    assert model.calls == [[0], [1, 2], [3, 4], [5, 6, 7, 8]]


def test_an_error_reaches_every_request_of_its_call_and_the_batcher_recovers() -> None:
    model = SlowModel()
    batcher = Batcher(model, max_rows=10)
    answers = asyncio.run(queued_behind_a_busy_model(model, batcher, [[1], [-1]]))
    assert answers[0] == [0]
    assert all(isinstance(a, ValueError) for a in answers[1:])
    assert asyncio.run(batcher([5])) == [10]


def test_a_request_whose_client_left_is_not_computed() -> None:
    model = SlowModel()
    batcher = Batcher(model, max_rows=10)

    async def scenario() -> None:
        first = asyncio.create_task(batcher([0]))
        while not model.calls:
            await asyncio.sleep(0.001)
        gone, kept = asyncio.create_task(batcher([1])), asyncio.create_task(batcher([2]))
        await asyncio.sleep(0.01)
        gone.cancel()
        model.release.set()
        assert await first == [0]
        assert await kept == [4]
        with pytest.raises(asyncio.CancelledError):
            await gone

    asyncio.run(scenario())
    assert model.calls == [[0], [2]]
