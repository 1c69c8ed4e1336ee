"""The contract every other layer obeys: the dataset, its schema, request and response models, the artifact."""
