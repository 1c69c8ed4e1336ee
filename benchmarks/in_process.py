"""The floor: the model's predict path called in-process on the same rows, with no HTTP and no server.

Run with the baked project's interpreter: `python in_process.py <package> <model file> <rows> <seconds>`.
Prints one JSON object in the shape the load generator prints, so the tables line up.
"""

from __future__ import annotations

import importlib
import json
import sys
import time

import joblib


def main(package: str, model_file: str, rows: int, seconds: float) -> None:
    inference = importlib.import_module(f"{package}.inference")
    example = importlib.import_module(f"{package}.schema").EXAMPLE_FEATURES
    model = joblib.load(model_file)
    records = [dict(example) for _ in range(rows)]
    for _ in range(5):  # warm caches, as the servers' warm-up does
        inference.predictions(model, records)
    latencies: list[float] = []
    started = time.perf_counter()
    while (now := time.perf_counter()) - started < seconds:
        inference.predictions(model, records)
        latencies.append(time.perf_counter() - now)
    elapsed = time.perf_counter() - started
    latencies.sort()

    def at(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q / 100 * len(latencies)))] * 1e3, 2)

    print(json.dumps({"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1),
                      "p50_ms": at(50), "p95_ms": at(95), "p99_ms": at(99), "errors": {}}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
