"""What the Bento ships besides the contract: the service, the request log, metrics and shadow it runs, its build."""
