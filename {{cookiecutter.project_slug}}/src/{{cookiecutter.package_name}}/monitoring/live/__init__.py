"""What monitoring needs at serve time: the request log, the model's metrics, the shadow challenger.

The Bento ships this folder. It imports only the contract, the standard library and what the service
already installs.
"""
