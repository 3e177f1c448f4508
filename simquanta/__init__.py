"""simquanta: agent-based simulation of the quantization model of neural scaling.

Michaud, Liu, Girit & Tegmark (2023), "The Quantization Model of Neural Scaling".
Use frequencies follow the paper's convention p_k ∝ k^−(α+1).
"""

from ._version import __version__
from .composition import CompositionGraph, load_graph
from .planner import plan
from .populations import Synthetic, simulate_generations, simulate_synthetic
from .result import Result
from .simulate import simulate
from .specs import Dataset, Learner, Online, Prerequisites, Quanta, Simulation

__all__ = [
    "CompositionGraph",
    "Dataset",
    "Learner",
    "Online",
    "Prerequisites",
    "Quanta",
    "Result",
    "Simulation",
    "Synthetic",
    "load_graph",
    "plan",
    "simulate",
    "simulate_generations",
    "simulate_synthetic",
    "__version__",
]
