"""Multitask sparse parity (Michaud et al. 2023): dataset, numpy/numba MLP trainer and
calibration of the quanta simulator against trained networks."""

from .mlp import AdamW, SparseParityMLP, TrainingLog, n_params, train
from .task import Batch, SparseParityTask, TestSet

__all__ = [
    "AdamW",
    "Batch",
    "SparseParityMLP",
    "SparseParityTask",
    "TestSet",
    "TrainingLog",
    "n_params",
    "train",
]
