"""The model's package, in four layers: contract <- pipeline, serving <- release <- cli (docs/architecture.md)."""
