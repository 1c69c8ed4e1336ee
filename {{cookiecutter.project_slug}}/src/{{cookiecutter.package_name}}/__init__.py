"""The model's package: layers whose imports point one way, as LAYERS says (docs/architecture.md draws them)."""

# The one statement of the rule, read by tests/unit/test_layers.py: a module may import its own folder and
# the layers before its own, never a later one nor a sibling in the same tuple. `__init__` and `__main__`
# sit with `cli`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("contract",),
    ("pipeline", "serving", "batch", "monitoring"),
    ("release",),
    ("cli",),
)
