"""A one-hidden-layer ReLU MLP trained on multitask sparse parity, in numpy + numba.

Network (the paper's ``depth=2`` MLP): x = [one-hot control c | task bits b] ∈ {0,1}^(T+n),

    z = W1ᵀ x + b1 = W1[c] + W1[T:]ᵀ b + b1        (hidden pre-activation, width w)
    h = max(z, 0),   logits = W2ᵀ h + b2 ∈ R²,
    loss = −log softmax(logits)[y]                  (nats; reported in bits = nats / ln 2)

with W1 ∈ R^{(T+n)×w}, b1 ∈ R^w, W2 ∈ R^{w×2}, b2 ∈ R², so the parameter count is
N = (T + n)·w + 3·w + 2 (603·w + 2 for T = 500, n = 100). Weights start as PyTorch's
``nn.Linear`` default, U(−1/√fan_in, 1/√fan_in).

Speed: the control part of W1ᵀ x is a row gather (one control bit per sample), so the
only dense products are the B×n by n×w matmuls forward and backward (BLAS); everything
else — gather, ReLU, the 2-logit head, cross-entropy, its gradient and the scatter-add of
the control rows — is one fused numba pass over the B×w hidden activations. The
optimizer is PyTorch's AdamW (decoupled weight decay), fused in numba over one flat
parameter vector; rows of W1 whose gradient is zero still get Adam's momentum update,
as in PyTorch's dense AdamW.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from numba import njit

from ..validation import check_int, check_real, invalid
from .task import Batch, SparseParityTask, TestSet, as_generator

__all__ = ["AdamW", "SparseParityMLP", "TrainingLog", "log_spaced_steps", "n_params", "train"]

LN2 = math.log(2.0)


def n_params(n_tasks: int, n_bits: int, width: int) -> int:
    """N = (n_tasks + n_bits)·w + 3·w + 2 parameters (weights and biases)."""
    return (n_tasks + n_bits) * width + 3 * width + 2


# ------------------------------------------------------------------------- numba kernels


@njit(cache=True, fastmath=True)
def _head_forward_backward(z, task, label, w1, b1, w2_diff, b2_diff, g_w1, g_w2_diff):
    """Fused pass over the hidden layer; returns (summed loss in nats, Σ_r dL/dd_r).

    On entry z = bits @ W1[T:]; on exit z holds dL/dz. Per row it adds the control-row
    gather W1[c] and b1, applies the ReLU, forms the logit margin d = l1 − l0 =
    h·(W2[:,1] − W2[:,0]) + (b2[1] − b2[0]) (all a 2-class softmax depends on), the
    cross-entropy softplus(∓d) and g = dL/dd = (σ(d) − y)/B; dL/dl1 = g = −dL/dl0.
    Accumulates g_w2_diff[j] += g·h_j (so dL/dW2[:,1] = +g_w2_diff, dL/dW2[:,0] = −it)
    and scatter-adds dL/dz into the control rows g_w1[c]. Inner loops are branch-light
    and contiguous so numba vectorizes them.
    """
    n, width = z.shape
    inv_n = 1.0 / n
    total = 0.0
    g_sum = 0.0
    for r in range(n):
        t = task[r]
        zr = z[r]
        w1t = w1[t]
        d = 0.0
        for j in range(width):
            v = zr[j] + w1t[j] + b1[j]
            v = v if v > 0.0 else 0.0
            zr[j] = v
            d += v * w2_diff[j]
        d += b2_diff
        # loss = softplus(−s·d), s = ±1 for y = 1/0, written to be stable for large |d|.
        m = d if label[r] == 0 else -d
        total += (m if m > 0.0 else 0.0) + math.log1p(math.exp(-abs(m)))
        if d >= 0.0:
            sig = 1.0 / (1.0 + math.exp(-d))
        else:
            e = math.exp(d)
            sig = e / (1.0 + e)
        g = (sig - label[r]) * inv_n
        g_sum += g
        for j in range(width):
            v = zr[j]
            g_w2_diff[j] += g * v
            zr[j] = g * w2_diff[j] if v > 0.0 else 0.0
        gw1t = g_w1[t]
        for j in range(width):
            gw1t[j] += zr[j]
    return total, g_sum


@njit(cache=True)
def _adamw_step(theta, grad, m, v, lr, beta1, beta2, eps, weight_decay, step):
    """One PyTorch AdamW step in place (decoupled decay, bias-corrected moments)."""
    bc1 = 1.0 - beta1 ** step
    bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
    step_size = lr / bc1
    decay = 1.0 - lr * weight_decay
    for i in range(theta.shape[0]):
        g = grad[i]
        mi = beta1 * m[i] + (1.0 - beta1) * g
        vi = beta2 * v[i] + (1.0 - beta2) * g * g
        m[i] = mi
        v[i] = vi
        theta[i] = theta[i] * decay - step_size * mi / (math.sqrt(vi) / bc2_sqrt + eps)


# ---------------------------------------------------------------------------- network


class SparseParityMLP:
    """One-hidden-layer ReLU MLP with 2 logits for multitask sparse parity.

    All parameters live in one flat vector ``theta`` (float32 by default) with views
    ``w1`` (T+n, w), ``b1`` (w,), ``w2`` (w, 2), ``b2`` (2,). Loss in nats per sample
    from :meth:`loss_and_grad`, in bits from :meth:`loss_bits`.
    """

    def __init__(self, n_tasks: int, n_bits: int, width: int, *,
                 seed: int | np.random.Generator | None = 0,
                 dtype: type | np.dtype = np.float32) -> None:
        self.n_tasks = check_int("n_tasks", n_tasks, 1)
        self.n_bits = check_int("n_bits", n_bits, 1)
        self.width = check_int("width", width, 1)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise invalid("dtype", str(dtype), "must be float32 or float64")
        n_in = self.n_tasks + self.n_bits
        self.shapes = {"w1": (n_in, width), "b1": (width,), "w2": (width, 2), "b2": (2,)}
        self.theta = np.zeros(self.n_params, dtype=self.dtype)
        self._views(self.theta, self)
        rng = as_generator(seed)
        # nn.Linear default init: U(±1/sqrt(fan_in)) for weights and biases.
        for name, fan_in in (("w1", n_in), ("b1", n_in), ("w2", width), ("b2", width)):
            bound = 1.0 / math.sqrt(fan_in)
            view = getattr(self, name)
            view[...] = rng.uniform(-bound, bound, size=view.shape)
        self.grad = np.zeros_like(self.theta)
        #: Views of ``grad`` shaped like the parameters: grad_views.w1, .b1, .w2, .b2.
        self.grad_views = SimpleNamespace()
        self._views(self.grad, self.grad_views)

    @property
    def n_params(self) -> int:
        """N = (n_tasks + n_bits)·w + 3·w + 2."""
        return n_params(self.n_tasks, self.n_bits, self.width)

    def _views(self, flat: np.ndarray, target: object) -> None:
        start = 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            setattr(target, name, flat[start:start + size].reshape(shape))
            start += size
        assert start == flat.size

    def _check(self, batch: Batch) -> None:
        if batch.n_tasks != self.n_tasks or batch.bits.shape[1] != self.n_bits:
            raise invalid("batch", f"{batch.n_tasks} tasks × {batch.bits.shape[1]} bits",
                          f"must match the network's {self.n_tasks} × {self.n_bits}")

    def hidden_preactivation(self, batch: Batch) -> np.ndarray:
        """z = W1[task] + bits @ W1[T:] + b1, shape (B, w)."""
        self._check(batch)
        z = batch.bits.astype(self.dtype) @ self.w1[self.n_tasks:]
        z += self.w1[batch.task]
        z += self.b1
        return z

    def logits(self, batch: Batch) -> np.ndarray:
        """Output logits, shape (B, 2)."""
        h = np.maximum(self.hidden_preactivation(batch), 0)
        return h @ self.w2 + self.b2

    def loss_bits(self, batch: Batch) -> np.ndarray:
        """Per-sample cross-entropy in bits, float64[B]."""
        out = self.logits(batch).astype(np.float64)
        margin = (out[:, 1] - out[:, 0]) * (2.0 * batch.label - 1.0)
        return np.logaddexp(0.0, -margin) / LN2

    def loss_and_grad(self, batch: Batch) -> float:
        """Mean cross-entropy (nats) over the batch; fills ``self.grad`` (flat, like theta)."""
        self._check(batch)
        g = self.grad_views
        self.grad[:] = 0
        bits = batch.bits.astype(self.dtype)
        z = bits @ self.w1[self.n_tasks:]
        w2_diff = np.ascontiguousarray(self.w2[:, 1] - self.w2[:, 0])
        g_w2_diff = np.zeros(self.width, dtype=self.dtype)
        total, g_sum = _head_forward_backward(z, batch.task, batch.label, self.w1, self.b1,
                                              w2_diff, float(self.b2[1] - self.b2[0]),
                                              g.w1, g_w2_diff)
        # z now holds dL/dz: the task-bit rows of W1 get bitsᵀ · dL/dz, b1 its column sum.
        np.matmul(bits.T, z, out=g.w1[self.n_tasks:])
        z.sum(axis=0, out=g.b1)
        g.w2[:, 0] = -g_w2_diff
        g.w2[:, 1] = g_w2_diff
        g.b2[0] = -g_sum
        g.b2[1] = g_sum
        return total / len(batch)


@dataclass
class AdamW:
    """PyTorch ``torch.optim.AdamW`` on a flat parameter vector (defaults: the paper's
    lr = 1e-3; betas (0.9, 0.999), eps 1e-8; weight decay 0 as in the paper's scripts).

    θ ← θ(1 − lr·λ) − lr · m̂ / (√v̂ + ε), m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t).
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_real("weight_decay", self.weight_decay, low=0.0)
        check_real("beta1", self.beta1, low=0.0, high=1.0)
        check_real("beta2", self.beta2, low=0.0, high=1.0)
        check_real("eps", self.eps, low=0.0)
        self._m: np.ndarray | None = None
        self._v: np.ndarray | None = None

    def step(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """Update ``theta`` in place from ``grad``."""
        if self._m is None:
            self._m = np.zeros_like(theta)
            self._v = np.zeros_like(theta)
        self.t += 1
        _adamw_step(theta, grad, self._m, self._v, self.lr, self.beta1, self.beta2,
                    self.eps, self.weight_decay, self.t)


# --------------------------------------------------------------------------- training


def log_spaced_steps(steps: int, count: int) -> np.ndarray:
    """0 and ~count log-spaced steps in [1, steps] (unique ints, always ending at steps)."""
    steps = check_int("steps", steps, 1)
    count = check_int("log_steps", count, 1)
    grid = np.unique(np.round(np.geomspace(1, steps, count)).astype(np.int64))
    return np.concatenate([[0], grid])


@dataclass(frozen=True, eq=False)
class TrainingLog:
    """What one training run logged, at optimizer steps ``steps`` (0 = initial network).

    ``test_loss`` float64[T]: mean loss (bits) on the Zipf-proportioned held-out set;
    ``subtask_loss`` float64[T, K]: mean loss (bits) on each subtask's held-out block;
    ``train_loss`` float64[T]: mean minibatch loss (bits) of the steps since the last log.
    ``best`` is the index of the lowest ``test_loss`` (early stopping's checkpoint).
    """

    steps: np.ndarray
    test_loss: np.ndarray
    subtask_loss: np.ndarray
    train_loss: np.ndarray
    width: int
    n_params: int
    batch_size: int
    dataset_size: int | None
    wall_seconds: float
    train_seconds: float
    stopped_early: bool

    @property
    def best(self) -> int:
        return int(np.argmin(self.test_loss))

    @property
    def steps_per_second(self) -> float:
        return float(self.steps[-1] / self.train_seconds) if self.train_seconds > 0 else 0.0


def evaluate(net: SparseParityMLP, test: TestSet) -> tuple[float, np.ndarray]:
    """(mean Zipf held-out loss in bits, per-subtask held-out loss in bits float64[K])."""
    mean = float(net.loss_bits(test.zipf).mean())
    per = net.loss_bits(test.per_task).reshape(net.n_tasks, test.samples_per_task).mean(axis=1)
    return mean, per


def train(task: SparseParityTask, width: int, *, steps: int, batch_size: int,
          dataset_size: int | None = None, lr: float = 1e-3, weight_decay: float = 0.0,
          seed: int = 0, log_steps: int | np.ndarray = 40, test: TestSet | None = None,
          patience: int | None = None, min_steps: int = 0,
          dtype: type | np.dtype = np.float32) -> TrainingLog:
    """Train a width-``width`` MLP with AdamW for ``steps`` optimizer steps.

    Online (``dataset_size=None``): every step draws a fresh batch of ``batch_size``
    i.i.d. samples. Multi-epoch (``dataset_size=D``): one training set of D samples,
    reshuffled every epoch and cut into batches of min(B, D) (the last one may be
    smaller), as in the paper's scripts. ``seed`` fixes the initialisation, the data and
    the training set; ``test`` defaults to ``task.test_set(random_state=seed + 1)``.

    ``log_steps`` is a count (log-spaced steps, :func:`log_spaced_steps`) or an array of
    steps. With ``patience`` = P, training stops once P consecutive logs fail to improve
    the held-out loss, but not before ``min_steps`` (networks sit on a ~1-bit plateau
    before learning anything; stopping there would end runs that have not started);
    the best checkpoint is ``TrainingLog.best`` (early stopping).
    """
    start = time.perf_counter()
    steps = check_int("steps", steps, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    if dataset_size is not None:
        dataset_size = check_int("dataset_size", dataset_size, 1)
    if patience is not None:
        patience = check_int("patience", patience, 1)
    min_steps = check_int("min_steps", min_steps, 0)
    if isinstance(log_steps, (int, np.integer)):
        logs = log_spaced_steps(steps, int(log_steps))
    else:
        logs = np.unique(np.asarray(log_steps, dtype=np.int64))
        if logs.size == 0 or logs.min() < 0 or logs.max() > steps:
            raise invalid("log_steps", log_steps, f"steps must lie in 0..{steps}")
    seq = np.random.SeedSequence(seed)
    init_seed, data_seed, set_seed = seq.spawn(3)
    net = SparseParityMLP(task.n_tasks, task.n_bits, width,
                          seed=np.random.default_rng(init_seed), dtype=dtype)
    opt = AdamW(lr=lr, weight_decay=weight_decay)
    if test is None:
        test = task.test_set(random_state=seed + 1)
    data_rng = np.random.default_rng(data_seed)
    batches = (task.online(batch_size, data_rng) if dataset_size is None
               else _epochs(task.training_set(dataset_size, np.random.default_rng(set_seed)),
                            batch_size, data_rng))

    test_loss, sub_loss, train_loss, done = [], [], [], []
    running, n_run, since_best, best = 0.0, 0, 0, math.inf
    train_seconds = 0.0
    log_set = set(logs.tolist())
    stopped = False
    for step in range(steps + 1):
        if step in log_set:
            mean, per = evaluate(net, test)
            test_loss.append(mean)
            sub_loss.append(per)
            train_loss.append(running / n_run / LN2 if n_run else math.nan)
            done.append(step)
            running, n_run = 0.0, 0
            if mean < best - 1e-9:
                best, since_best = mean, 0
            else:
                since_best += 1
            if patience is not None and since_best >= patience and step >= min_steps:
                stopped = step < steps
                break
        if step == steps:
            break
        t0 = time.perf_counter()
        batch = next(batches)
        running += net.loss_and_grad(batch)
        n_run += 1
        opt.step(net.theta, net.grad)
        train_seconds += time.perf_counter() - t0
    return TrainingLog(
        steps=np.asarray(done, dtype=np.int64),
        test_loss=np.asarray(test_loss),
        subtask_loss=np.asarray(sub_loss),
        train_loss=np.asarray(train_loss),
        width=width,
        n_params=net.n_params,
        batch_size=batch_size,
        dataset_size=dataset_size,
        wall_seconds=time.perf_counter() - start,
        train_seconds=train_seconds,
        stopped_early=stopped,
    )


def _epochs(data: Batch, batch_size: int, rng: np.random.Generator):
    """Endless epochs over a fixed set: a fresh permutation each epoch, batches of
    min(B, D), the last batch of an epoch possibly smaller."""
    size = len(data)
    bs = min(batch_size, size)
    while True:
        order = rng.permutation(size)
        for lo in range(0, size, bs):
            yield data.take(order[lo:lo + bs])
