"""What monitoring needs at serve time: the request log and the model's metrics. The Bento ships this folder.

It imports only the contract, the standard library and what the service already installs.
"""
