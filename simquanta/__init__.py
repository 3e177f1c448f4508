"""simquanta: agent-based simulation of the quantization model of neural scaling.

Michaud, Liu, Girit & Tegmark (2023), "The Quantization Model of Neural Scaling".
Use frequencies follow the paper's convention p_k ∝ k^−(α+1).
"""

# Changes whenever some seed's results change (0.2.0: Marsaglia–Tsang Gamma on a ziggurat
# normal in the events engine). Results, figure JSON and sweep cells record it, and a sweep
# stored by another version is not resumed into.
__version__ = "0.2.0"

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
