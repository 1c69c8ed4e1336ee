"""The fast predictor: the fitted pipeline's own arithmetic on numpy arrays, read from fastpath.json.

The `package` stage derives it from the fitted pipeline (pipeline/compile_fastpath.py); the service serves it
once it agrees with the pipeline on the rows the file carries. It reads the rows a request carries
without building a DataFrame: the imputer's fill values, the scaler's constants and the one-hot tables,
then every tree of the ensemble walked at once. The sklearn pipeline stays the reference and the fallback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit  # a dependency of scikit-learn, which serves anyway

from .artifact import ArtifactError, load_verified, sha256_bytes
from .identity import Lineage
from .predict import labels  # the one rule from probabilities to labels, for both
from .schema import to_frame

FAST_PATH_FILE = "fastpath.json"
FORMAT = 1
# The transform and the trees repeat the pipeline's float64 operations in its order, so leaves and sums are
# bit for bit the pipeline's; only the link (expit, softmax) is computed by other code, which can differ
# in the last bits (~1e-16). 1e-9 leaves that room a million times over and nothing else: a row that took
# a wrong branch moves its answer by a whole leaf. Labels must be equal.
RTOL, ATOL = 1e-9, 1e-12


class FastPredictor:
    """The model's answers from `predict_proba(rows)` / `predict(rows)`, rows as the service receives them."""

    reads_records = True  # contract/predict.py hands it the rows themselves, not a DataFrame

    def __init__(self, spec: dict[str, Any]) -> None:
        self.blocks = spec["blocks"]
        self.classes_ = spec["classes"]
        self.threshold = spec["threshold"]  # a binary model's decision threshold, else None
        self.link = spec["link"]
        self.baseline = np.asarray(spec["baseline"], dtype=np.float64)
        trees = spec["trees"]
        self.roots = np.asarray(trees["roots"], dtype=np.intp)  # one per tree: iteration-major, class-minor
        self.feature = np.asarray(trees["feature"], dtype=np.intp)
        self.cut = np.asarray(trees["threshold"], dtype=np.float64)  # +inf at a leaf: always "left", to itself
        self.missing_left = np.asarray(trees["missing_left"], dtype=bool)
        self.left = np.asarray(trees["left"], dtype=np.intp)  # the right child is the next node
        self.value = np.asarray(trees["value"], dtype=np.float64)
        self.depth = int(trees["depth"])
        self.width = sum(len(b["columns"]) if b["kind"] == "numeric" else len(b["categories"]) for b in self.blocks)
        # Per block: the fill values and constants as arrays, the one-hot tables as dicts.
        for block in self.blocks:
            if block["kind"] == "numeric":
                block["arrays"] = tuple(np.asarray(block[k], dtype=np.float64) for k in ("fill", "mean", "scale"))
            else:
                block["index"] = {value: i for i, value in enumerate(block["categories"])}

    def transform(self, rows: list[dict[str, Any]]) -> np.ndarray:
        """What the fitted ColumnTransformer makes of the rows, in its column order."""
        out = np.zeros((len(rows), self.width), dtype=np.float64)
        start = 0
        for block in self.blocks:
            if block["kind"] == "numeric":
                names = block["columns"]
                fill, mean, scale = block["arrays"]
                x = np.array([[row[name] for name in names] for row in rows], dtype=np.float64)  # None -> NaN
                x = np.where(np.isnan(x), fill, x)
                x -= mean  # the imputer's and the scaler's operations, in their order: the same bits
                x /= scale
                out[:, start : start + len(names)] = x
                start += len(names)
            else:
                index, column = block["index"], block["column"]
                # A null becomes what to_frame makes of it (`null_as`; None: NaN), which the imputer fills.
                null = block["fill"] if block["null_as"] is None else block["null_as"]
                for i, row in enumerate(rows):
                    value = row[column]
                    at = index.get(null if value is None else value)
                    if at is not None:  # unknown: all zeros, as handle_unknown="ignore"
                        out[i, start + at] = 1.0
                start += len(block["categories"])
        return out

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The ensemble's raw scores: every tree walked at once, summed in the estimator's order."""
        n = len(x)
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        flat, offsets = x.ravel(), (np.arange(n, dtype=np.intp) * x.shape[1])[:, None]
        missing = bool(np.isnan(x).any())  # after the imputers, rarely: the walk skips that branch then
        for _ in range(self.depth):
            value = flat[offsets + self.feature[node]]
            go_left = value <= self.cut[node]
            if missing:
                go_left = np.where(np.isnan(value), self.missing_left[node], go_left)
            node = self.left[node] + ~go_left  # left, or the node after it: the right child
        k = len(self.baseline)
        leaves = self.value[node].reshape(n, -1, k)
        # baseline, then += each iteration's leaf in turn: accumulate adds in exactly that order.
        terms = np.concatenate([np.broadcast_to(self.baseline, (n, 1, k)), leaves], axis=1)
        return np.add.accumulate(terms, axis=1)[:, -1, :]

    def predict_proba(self, rows: list[dict[str, Any]]) -> np.ndarray:
        raw = self.raw(self.transform(rows))
        # The links as scikit-learn 1.9 computes them (sklearn/_loss/link.py), so that even these bits agree.
        if self.link == "expit":
            positive = expit(raw[:, 0])
            return np.column_stack([1.0 - positive, positive])
        shifted = raw - np.amax(raw, axis=1)[:, np.newaxis]  # softmax
        np.exp(shifted, out=shifted)
        shifted /= np.sum(shifted, axis=1)[:, np.newaxis]
        return shifted

    def predict(self, rows: list[dict[str, Any]]) -> np.ndarray:
        return self.raw(self.transform(rows))[:, 0]  # identity link: the squared-error regressor's


def read(folder: Path, lineage: Lineage) -> dict[str, Any] | None:
    """The fast-path file's contents, after checking its bytes against the lineage record; None when the
    record names no fast path (a model packaged before there was one)."""
    entry = lineage.fast_path
    if entry is None:
        return None
    path = folder / entry.file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"fast path {path} is missing") from None
    actual, expected = sha256_bytes(data), entry.sha256
    if actual != expected:
        raise ArtifactError(f"fast path {path} has sha256 {actual[:12]}…, lineage says {expected[:12]}…")
    try:
        spec = json.loads(data)
    except json.JSONDecodeError as error:
        raise ArtifactError(f"fast path {path} is unreadable ({error})") from None
    if spec.get("format") != FORMAT:
        raise ArtifactError(f"fast path {path} has format {spec.get('format')!r}, this code reads {FORMAT}")
    return dict(spec)


def disagreement(fast: FastPredictor, model: Any, rows: list[dict[str, Any]]) -> str | None:
    """Where the fast predictor and the pipeline disagree on `rows` (the first such row), or None.

    Labels must be equal; probabilities (a regressor's values) within RTOL and ATOL of the pipeline's.
    """
    frame = to_frame(rows)
    if fast.classes_ is None:
        ours, theirs = fast.predict(rows), np.asarray(model.predict(frame), dtype=np.float64)
    else:
        classes = [str(c) for c in model.classes_]
        if fast.classes_ != classes or fast.threshold != getattr(model, "threshold", None):
            return f"classes {fast.classes_} (threshold {fast.threshold}) against the pipeline's {classes}"
        ours, theirs = fast.predict_proba(rows), model.predict_proba(frame)
        a, b = labels(fast, ours), labels(model, theirs)
        if (a != b).any():
            i = int(np.flatnonzero(a != b)[0])
            return f"row {i}: label {classes[a[i]]!r} against the pipeline's {classes[b[i]]!r}"
    close = np.isclose(ours, theirs, rtol=RTOL, atol=ATOL)
    if not close.all():
        i = int(np.argwhere(~close)[0][0])
        return f"row {i}: {ours[i].tolist()} against the pipeline's {theirs[i].tolist()}"
    return None


def served(folder: Path, model: Any, lineage: Lineage) -> tuple[Any, str]:
    """What serves the model in `folder`: the fast predictor, checked against `model` (the verified
    pipeline) on the rows its file carries, or the pipeline itself; and one line saying which and why."""
    spec = read(folder, lineage)
    if spec is None:
        return model, "serving the pipeline: the lineage record names no fast path"
    if spec["kind"] is None:
        return model, f"serving the pipeline: {spec['reason']}"
    try:
        fast = FastPredictor(spec)
    except (KeyError, TypeError, ValueError) as error:
        raise ArtifactError(f"fast path in {folder} cannot be read ({error.__class__.__name__}: {error})") from None
    if problem := disagreement(fast, model, spec["check_rows"]):
        raise ArtifactError(f"fast path in {folder} disagrees with the pipeline: {problem}")
    return fast, f"serving the fast path ({spec['kind']}, checked on {len(spec['check_rows'])} rows)"


def load_served(folder: Path) -> tuple[Any, Any, Lineage, str]:
    """The verified pipeline, what serves it, its lineage record, and the line saying which serves."""
    model, lineage = load_verified(folder)
    predictor, line = served(folder, model, lineage)
    return model, predictor, lineage, line
