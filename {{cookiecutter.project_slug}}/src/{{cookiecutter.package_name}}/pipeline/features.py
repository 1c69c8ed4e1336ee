"""The one preprocessing pipeline: fitted in training, pickled with the model, reused when serving.

Because the transform travels inside the model artifact, training and serving cannot disagree on it.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..contract.schema import CATEGORICAL, CLASSIFICATION, NUMERIC, TASK, allowed_values


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


Model: TypeAlias = Pipeline | FixedThresholdClassifier  # what `train` fits and the service loads


def model(params: dict[str, Any]) -> Model:
    """The preprocessing and the estimator, configured by the `train` section of params.yaml.

    A binary model says "positive" (the second of the target's sorted values) when its probability
    reaches `decision_threshold`: the trade between false alarms and misses is a parameter, not argmax.
    """
    estimator_type = HistGradientBoostingClassifier if CLASSIFICATION else HistGradientBoostingRegressor
    estimator = estimator_type(
        learning_rate=params["learning_rate"],
        max_iter=params["max_iter"],
        max_leaf_nodes=params["max_leaf_nodes"],
        l2_regularization=params["l2_regularization"],
        random_state=params["seed"],
    )
    pipeline = Pipeline([("preprocess", preprocessor()), ("estimator", estimator)])
    if TASK == "binary":
        return FixedThresholdClassifier(
            pipeline, threshold=params["decision_threshold"], response_method="predict_proba"
        )
    return pipeline


def pipeline_of(fitted: Model) -> Pipeline:
    """The preprocessing and estimator inside a model, with or without its decision threshold."""
    return fitted.estimator_ if isinstance(fitted, FixedThresholdClassifier) else fitted
