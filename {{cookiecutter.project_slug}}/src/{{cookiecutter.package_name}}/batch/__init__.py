"""Batch scoring: files in, files out, with the contract and the verified artifact the service uses."""
