"""Where the router's counters live: the `RouterState` interface and its in-memory default."""

from router.state.base import CostTotals, HealthRecord, RouterState, WindowTotals
from router.state.memory import MemoryState

__all__ = ["CostTotals", "HealthRecord", "MemoryState", "RouterState", "WindowTotals"]
