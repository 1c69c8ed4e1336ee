"""The monitor's drift checks at params.yaml's thresholds: quiet traffic of several shapes passes, and the
shifts the monitor exists for fail on the check that names them (PSI, or the missing share)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import drift, params
from {{ cookiecutter.package_name }}.contract.dataset import DATASET
from {{ cookiecutter.package_name }}.contract.schema import FEATURE_NAMES, TARGET, allowed_values, value_range
from {{ cookiecutter.package_name }}.monitoring import monitor
from tests.conftest import ROOT

SETTINGS = params.load("monitor", ROOT / "params.yaml")
WATCHED = [name for name in FEATURE_NAMES if name not in DATASET.sensitive]  # what the request log keeps
CATEGORIES = [name for name in WATCHED if allowed_values(name) is not None]
NUMBERS = [name for name in WATCHED if allowed_values(name) is None]
NULLABLE = [name for name in WATCHED if DATASET.columns[name].nullable]
# As many blanks as the validate stage lets a training file have (enough that a bin for them, emptied, crossed
# max_psi), up to the missing-share change the monitor lets pass: more than that vanishing is a change it names.
BLANK = min(params.load("validate", ROOT / "params.yaml")["max_null_fraction"], SETTINGS["max_missing_shift"])
ROWS = 2000

Window = Callable[[pd.DataFrame], pd.DataFrame]


def training_rows(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Rows like the contract's: numbers bell-shaped inside their range, categories skewed so that the first is
    the most common, and BLANK of each nullable feature missing."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for name in (*FEATURE_NAMES, TARGET):
        values = allowed_values(name)
        if values is not None:
            weights = 1 / np.arange(1, len(values) + 1)
            data[name] = rng.choice(list(values), rows, p=weights / weights.sum())
        else:
            low, high = value_range(name) or (0.0, 1.0)
            data[name] = rng.normal((low + high) / 2, (high - low) / 8, rows)
    frame = pd.DataFrame(data)
    for name in NULLABLE:
        frame.loc[rng.choice(rows, round(rows * BLANK), replace=False), name] = None
    return frame


TRAINING = training_rows()
REFERENCE = drift.profile(TRAINING, bins=params.load("drift", ROOT / "params.yaml")["bins"])


def judged(window: pd.DataFrame) -> dict[str, Any]:
    result = monitor.check(window.assign(prediction=window[TARGET]), REFERENCE, SETTINGS, {}, {})
    assert result["drift"] and result["missing"], result["notes"]  # judged, not set aside as too few rows
    return result


def mode_burst(name: str) -> Window:
    """The training rows, and a stretch of extra rows all of the feature's most common value: 12% of the window."""

    def window(frame: pd.DataFrame) -> pd.DataFrame:
        common = frame[frame[name] == frame[name].mode()[0]]
        return pd.concat([frame, common.sample(round(len(frame) * 0.12 / 0.88), replace=True, random_state=3)])

    return window


QUIET: dict[str, Window] = {
    "as-trained": lambda frame: frame,
    "no-missing-values": lambda frame: frame.dropna(subset=WATCHED),
    # a contract without categorical features has no most common value to repeat
    **{f"burst-of-{name}-mode": mode_burst(name) for name in CATEGORIES},
}


@pytest.mark.parametrize("shape", QUIET.values(), ids=QUIET.keys())
def test_quiet_traffic_passes(shape: Window) -> None:
    result = judged(shape(TRAINING))
    assert result["failures"] == [], drift.table(result["drift"]) + "\n" + drift.missing_table(result["missing"])


def test_small_windows_drawn_from_training_pass_at_min_rows() -> None:
    """Twenty fixed windows at min_rows. Chance alone gives a 10-bin index about 9/rows, which the limit allows
    for (drift.chance); without that, about one window in fifteen of 100 rows crossed 0.2 somewhere."""
    for seed in range(20):
        window = TRAINING.sample(SETTINGS["min_rows"], random_state=seed)
        assert judged(window)["failures"] == [], seed


def shifted(name: str) -> Window:
    return lambda frame: frame.assign(**{name: frame[name] + 2 * frame[name].std()})


def vanished(name: str) -> Window:
    return lambda frame: frame[frame[name] != frame[name].mode()[0]]


def dominant(name: str) -> Window:
    return lambda frame: frame.assign(**{name: frame[name].value_counts().index[-1]})


# Each feature the shift needs: a contract without numeric (or categorical) features has none to shift.
SHIFTS: dict[str, tuple[str, Window]] = {
    **{f"{name}-plus-2-std": (name, shifted(name)) for name in NUMBERS[:1]},
    **{f"{name}-mode-vanished": (name, vanished(name)) for name in CATEGORIES[:1]},
    **{f"{name}-all-the-rarest": (name, dominant(name)) for name in CATEGORIES[:1]},
}


@pytest.mark.parametrize(("name", "shape"), SHIFTS.values(), ids=SHIFTS.keys())
def test_a_shifted_distribution_fails_on_its_psi_naming_the_feature(name: str, shape: Window) -> None:
    failures = judged(shape(TRAINING))["failures"]
    assert [f.split(": PSI")[0] for f in failures] == [f"{name} drifted"], failures


def test_a_jump_in_missing_values_fails_on_the_missing_share_not_psi() -> None:
    name = (NULLABLE or WATCHED)[0]
    rng = np.random.default_rng(4)
    window = TRAINING.copy()
    window.loc[rng.random(len(window)) < 0.3, name] = None
    result = judged(window)
    row = next(r for r in result["missing"] if r["feature"] == name)
    assert result["failures"] == [
        f"{name}: {row['missing']:.1%} missing against {row['training']:.1%} in training "
        f"(limit ±{row['limit'] * 100:.1f} points: {SETTINGS['max_missing_shift'] * 100:.1f} + "
        f"{row['chance'] * 100:.1f} by chance)"
    ]
    assert row["missing"] - row["training"] > 0.2 and "missing" in monitor.report(result, "w", [])


def test_a_profile_written_with_a_missing_bin_reads_as_present_shares_and_a_missing_share(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    name = (NULLABLE or WATCHED)[0]
    old = drift.profile(TRAINING, bins=10)
    column = old["features"][name]
    bins = [s * (1 - column["missing"]) for s in column["shares"]]  # shares of all rows, the missing ones last
    kept = {key: column[key] for key in ("kind", "categories", "edges") if key in column}
    old["features"][name] = kept | {"shares": [*bins, column["missing"]]}
    path.write_text(json.dumps(old))
    read = drift.read_profile(path)["features"][name]
    assert read["present"] == column["present"] and read["missing"] == pytest.approx(column["missing"])
    assert read["shares"] == pytest.approx(column["shares"])


@pytest.mark.parametrize(("rows", "shifted"), [(100, False), (10_000, True)])
def test_the_missing_share_limit_allows_for_what_chance_gives_a_window_its_size(rows: int, shifted: bool) -> None:
    """A 30% share moves 4.6 points either side in 100 rows by chance: 12 points more is no alarm there, and
    is one in 10,000 rows, where chance gives half a point."""
    reference = {"features": {"x": {"missing": 0.3}}}
    window = pd.DataFrame({"x": [None] * round(rows * 0.42) + [1.0] * round(rows * 0.58)})
    (row,) = drift.missing(reference, window, 0.1, ["x"])
    assert row["missing"] == 0.42 and row["shifted"] is shifted, row
