"""What the Bento ships besides the contract: the BentoML service, its guards, its build and a local server."""
