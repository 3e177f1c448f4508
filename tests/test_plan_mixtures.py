"""Mixtures of Zipf laws (``simquanta.mixtures``): frequencies and groups, and the per-language
closed forms against simulation within 4 standard errors."""

from __future__ import annotations

import numpy as np
import pytest

import simquanta as sq
from simquanta.composition import CompositionGraph
from simquanta.mixtures import Language, zipf_mixture


def mixture(w_en=0.7):
    return zipf_mixture([Language("en", 40, w_en), Language("fr", 40, 1 - w_en)], n_shared=10)


def test_frequencies_groups_and_quantum_names():
    m = mixture()
    assert m.n_quanta == 90
    assert np.allclose(m.language_p.sum(axis=1), 1.0) and np.isclose(m.p.sum(), 1.0)
    assert m.quantum("shared", 1) == 0 and m.quantum("en", 1) == 10 and m.quantum("fr", 1) == 50
    assert m.language_p[1, m.groups["en"]].sum() == 0  # French never uses English quanta
    # the shared top ranks dominate both languages equally (same α, same ranks)
    assert np.allclose(m.language_p[0, :10], m.language_p[1, :10])
    with pytest.raises(ValueError, match="share"):
        zipf_mixture([Language("a", 3, 0.5), Language("b", 3, 0.6)], 1)
    with pytest.raises(ValueError, match="rank"):
        m.quantum("fr", 41)


def test_expected_language_loss_matches_simulation_within_4_se():
    m = mixture()
    quanta = m.quanta(tau=3)
    res = sq.simulate(quanta, sq.Learner(), sq.Online(steps=400, batch_size=10), agents=400,
                      seed=8, checkpoints=[20, 100, 400], engine="exact",
                      record_learn_steps=True)
    losses = m.language_losses(res.learned_mask())  # (agents, C, L)
    mean, se = losses.mean(axis=0), losses.std(axis=0, ddof=1) / np.sqrt(losses.shape[0])
    expected = m.expected_loss(res.samples, 3)
    assert np.all(np.abs(mean - expected) <= 4 * se), (mean, expected, se)


def test_top_n_loss_matches_converged_evict_within_4_se():
    m = mixture(0.8)
    quanta = m.quanta(tau=2)
    for n in (5, 20):
        res = sq.simulate(quanta, sq.Learner(capacity=n, policy="evict"),
                          sq.Online(steps=20_000, batch_size=100), agents=24, seed=n,
                          checkpoints=1, engine="exact", record_learned_sets=True)
        losses = m.language_losses(res.learned_mask()[:, -1])
        mean = losses.mean(axis=0)
        se = losses.std(axis=0, ddof=1) / np.sqrt(losses.shape[0])
        assert np.all(np.abs(mean - m.top_n_loss(n)) <= 4 * se + 1e-12)


def test_planner_reads_mixture_quanta_in_graphs():
    m = mixture(0.9)
    g = CompositionGraph()
    g.add_node("en_task", "all", [m.quantum("shared", 3), m.quantum("en", 5)])
    g.add_node("fr_task", "all", [m.quantum("shared", 3), m.quantum("fr", 5)])
    res = sq.plan(g, m.quanta(tau=5), sq.Learner(policy="evict"), sq.Online(steps=10),
                  agents=50, frontier=False)
    en, fr = res.tasks["en_task"], res.tasks["fr_task"]
    # the rarer language needs a bigger model and more data for the same ability
    assert fr.capacity_floor > en.capacity_floor and fr.data_floor > en.data_floor
