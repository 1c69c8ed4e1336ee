"""The systems release works through: git, GitHub (`gh`), the MLflow registry, DVC storage and its fetches."""
