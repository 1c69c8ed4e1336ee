"""After deploy: what reads the request log the service writes (serving/requestlog.py): drift, live metrics, the shadow."""
