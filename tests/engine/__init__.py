"""A stateful engine for the tests: runs the program again and again as `pulumi up` does (engine.py)."""
from .engine import Engine, UpFailed
from .plan import Plan, Step

__all__ = ["Engine", "Plan", "Step", "UpFailed"]
