"""simquanta: agent-based simulation of the quantization model of neural scaling.

Michaud, Liu, Girit & Tegmark (2023), "The Quantization Model of Neural Scaling".
Use frequencies follow the paper's convention p_k ∝ k^−(α+1).
"""

__version__ = "0.1.0"

from .result import Result  # noqa: E402
from .simulate import simulate  # noqa: E402
from .specs import Dataset, Learner, Online, Prerequisites, Quanta, Simulation  # noqa: E402

__all__ = [
    "Dataset",
    "Learner",
    "Online",
    "Prerequisites",
    "Quanta",
    "Result",
    "Simulation",
    "simulate",
    "__version__",
]
