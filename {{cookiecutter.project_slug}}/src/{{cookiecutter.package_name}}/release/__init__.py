"""Moving a model between environments by pull request: pins, gates, proposals, deploys, records and the audit."""
