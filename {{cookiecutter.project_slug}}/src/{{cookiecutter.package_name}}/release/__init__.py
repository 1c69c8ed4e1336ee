"""Moving a model between environments by pull request: promotion, deploy, the audit, and the adapters they use."""

# The release layer's own order, read by tests/unit/test_layers.py as LAYERS is: a module may import its
# own part and the parts before it. `errors` and `environments` are shared by all of release.
PARTS: tuple[tuple[str, ...], ...] = (
    ("errors", "environments"),
    ("adapters",),
    ("promotion",),
    ("deploy",),
    ("audit",),
)
