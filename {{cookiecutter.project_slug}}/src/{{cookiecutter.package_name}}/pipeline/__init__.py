"""The DVC stages that turn raw data into a packaged, evaluated model: prepare to package (dvc.yaml)."""
