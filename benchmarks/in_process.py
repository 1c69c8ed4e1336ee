"""The floor: the model's predict path called in-process on the same rows, with no HTTP and no server.

Run with the baked project's interpreter: `python in_process.py <package> <model file> <rows> <seconds>`.
Prints the load generator's own summary (the project's tests/loadgen.py), so the tables line up.
"""

from __future__ import annotations

import importlib
import json
import sys
import time

import joblib


def main(package: str, model_file: str, rows: int, seconds: float) -> None:
    predict = importlib.import_module(f"{package}.contract.predict")
    example = importlib.import_module(f"{package}.contract.schema").EXAMPLE_FEATURES
    model = joblib.load(model_file)
    records = [dict(example) for _ in range(rows)]
    for _ in range(5):  # warm caches, as the servers' warm-up does
        predict.predictions(model, records)
    sys.path.insert(0, ".")  # run from the project's root: its tests package holds the load generator
    loadgen = importlib.import_module("tests.loadgen")
    tally = loadgen.Tally()
    started = time.perf_counter()
    while (now := time.perf_counter()) - started < seconds:
        predict.predictions(model, records)
        tally.latencies.append(time.perf_counter() - now)
        tally.statuses[200] = tally.statuses.get(200, 0) + 1  # every call is an answer
    print(json.dumps(loadgen.summary(tally, time.perf_counter() - started, [])))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
