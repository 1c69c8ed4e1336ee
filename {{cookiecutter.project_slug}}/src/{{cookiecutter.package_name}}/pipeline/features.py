"""The one preprocessing pipeline: fitted in training, pickled with the model, reused when serving.

Because the transform travels inside the model artifact, training and serving cannot disagree on it.
"""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..contract.schema import CATEGORICAL, NUMERIC, TASK, allowed_values


def preprocessor() -> ColumnTransformer:
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        # Categories come from the schema, not the data: a category absent from training still has a column.
        OneHotEncoder(categories=[list(allowed_values(c) or ()) for c in CATEGORICAL], handle_unknown="ignore"),
    )
    return ColumnTransformer(
        [("numeric", numeric, list(NUMERIC)), ("categorical", categorical, list(CATEGORICAL))],
        verbose_feature_names_out=False,
    )


def model(params: dict[str, Any]) -> Pipeline:
    """The preprocessing and the estimator, configured by the `train` section of params.yaml."""
    estimator_type = HistGradientBoostingClassifier if TASK == "classification" else HistGradientBoostingRegressor
    estimator = estimator_type(
        learning_rate=params["learning_rate"],
        max_iter=params["max_iter"],
        max_leaf_nodes=params["max_leaf_nodes"],
        l2_regularization=params["l2_regularization"],
        random_state=params["seed"],
    )
    return Pipeline([("preprocess", preprocessor()), ("estimator", estimator)])
