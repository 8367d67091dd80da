"""Erlang C and Erlang A (M/M/N+M) staffing formulas, vectorised over NumPy arrays.

Glossary
  counter            a teller window (a server of the queue)
  interval           a planning slot, half an hour unless told otherwise
  load               offered load in Erlangs: arrivals per interval × AHT / interval length
  AHT                mean service (handling) time, seconds
  service level      share of customers called within ``target_wait`` seconds (Erlang A: called
                     within ``target_wait`` *and* served, so abandoning counts as a miss)
  overtime-wait ratio  share of served customers whose wait exceeded a threshold

Every function broadcasts its array arguments against each other (any shape) and returns arrays of
the broadcast shape (0-d arrays for scalar input). Invalid input (NaN, negative, infinite where not
allowed) raises ValueError naming the argument.

Numerics: no factorial or power is ever formed. Erlang B is a ratio of Poisson probabilities taken in
log space (scipy.special), stepping N by the stable recursion; Erlang A reduces to the function
S(x, y) = Σ_k y^k / ((x+1)…(x+k)) = Γ(x+1)·e^y·y^(−x)·P(x, y) with P the regularised lower
incomplete gamma function, also taken in log space, with a direct series where P underflows.

Pure module: NumPy and SciPy only, no Django import.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

DEFAULT_INTERVAL_SECONDS = 1800
DEFAULT_MAX_COUNTERS = 500
# Observed abandonment share above which Erlang C (nobody leaves) is too optimistic a model.
DEFAULT_ABANDON_THRESHOLD = 0.05
# Slack when comparing a computed level with its target, so that a level equal to the target up to
# rounding counts as met, whichever code path (recursion or closed form) computed it.
LEVEL_TOLERANCE = 1e-12

# Below this a probability computed by scipy is no longer a normal double, and its logarithm loses
# precision; the series fallbacks take over.
_TINY = 1e-280
_SERIES_EPS = 1e-17
_SERIES_MAX_TERMS = 1_000_000
_CHUNK = 1 << 17
# Above this many counters the closed form beats the recursion from zero.
_RECURSION_MAX = 64
_THREADS = min(4, os.cpu_count() or 1)

FloatArray = NDArray[np.float64]


class CountersNeeded(NamedTuple):
    """Result of a staffing search: unpack as ``counters, capped = counters_needed(...)``."""

    counters: NDArray[np.int64]
    # True where even max_counters does not meet the target: counters holds max_counters there.
    capped: NDArray[np.bool_]


class ErlangAResult(NamedTuple):
    """All Erlang A measures of one evaluation (arrays of the broadcast shape)."""

    prob_wait: FloatArray  # all counters busy on arrival
    prob_abandon: FloatArray  # leaves before being called
    service_level: FloatArray  # called within target_wait and served
    overtime_ratio: FloatArray  # among served customers, share who waited longer than target_wait
    mean_wait: FloatArray  # over all arrivals, abandoning ones counted until they leave


# --------------------------------------------------------------------------------------------------
# Validation


def _float_array(value: ArrayLike, name: str, *, positive: bool = False, allow_inf: bool = False) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    # One pass over the data in the common case; the diagnosis below only runs on failure.
    ok = arr > 0 if positive else arr >= 0
    if not allow_inf:
        ok &= arr < np.inf
    if not ok.all():
        if np.isnan(arr).any():
            raise ValueError(f"{name} must not be NaN")
        if (arr < 0).any():
            raise ValueError(f"{name} must not be negative")
        if positive and (arr == 0).any():
            raise ValueError(f"{name} must be positive")
        raise ValueError(f"{name} must be finite")
    return arr


def _servers_array(value: ArrayLike, name: str = "servers") -> FloatArray:
    arr = _float_array(value, name)
    if not (arr == np.floor(arr)).all():
        raise ValueError(f"{name} must be whole numbers")
    return arr


def _level_array(value: ArrayLike, name: str) -> FloatArray:
    arr = _float_array(value, name)
    if not (arr <= 1).all():
        raise ValueError(f"{name} must be a share between 0 and 1")
    return arr


def _max_counters(value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError("max_counters must be a non-negative whole number")
    return int(value)


def _flat(*arrays: FloatArray) -> tuple[tuple[int, ...], list[FloatArray]]:
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return shape, [np.broadcast_to(a, shape).ravel() for a in arrays]


# --------------------------------------------------------------------------------------------------
# Erlang B / C


def offered_load(
    arrivals_per_interval: ArrayLike, aht_seconds: ArrayLike, interval_seconds: ArrayLike = DEFAULT_INTERVAL_SECONDS
) -> FloatArray:
    """Offered load in Erlangs: the mean number of counters busy if nobody ever waited."""
    arrivals = _float_array(arrivals_per_interval, "arrivals_per_interval")
    aht = _float_array(aht_seconds, "aht_seconds")
    interval = _float_array(interval_seconds, "interval_seconds", positive=True)
    return arrivals * aht / interval


def _inverse_b_series(n: FloatArray, a: FloatArray) -> FloatArray:
    """1/B(N, A) = Σ_j N!/((N−j)!·A^j), summed directly.

    Only used where N is far below A (the Poisson cdf underflows); the terms then shrink at least
    as fast as (N/A)^j, so few are needed, and all are positive, so the sum is exact to rounding.
    """
    total = np.ones_like(a)
    term = np.ones_like(a)
    idx = np.arange(a.size)
    for j in range(1, _SERIES_MAX_TERMS):
        term = term * np.maximum(n[idx] - (j - 1), 0) / a[idx]
        total[idx] += term
        going = term > _SERIES_EPS * total[idx]
        if not going.all():
            idx, term = idx[going], term[going]
        if idx.size == 0:
            break
    return total


def _erlang_b_raw(n: FloatArray, a: FloatArray) -> FloatArray:
    """Erlang B on validated, equally shaped float arrays."""
    # B(N, A) = Poisson pmf(N; A) / Poisson cdf(N; A): both tiny or both near 1 for large loads, so
    # take the ratio in log space instead of forming A^N/N!.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_pmf = special.xlogy(n, a) - a - special.gammaln(n + 1)
        cdf = special.pdtr(n, a)
        b = np.exp(log_pmf - np.log(cdf))
    weak = ~(cdf > _TINY)
    if weak.any():
        b[weak] = 1.0 / _inverse_b_series(n[weak], a[weak])
    return b


def _erlang_c_from_b(n: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    # C = N·B / (N − A·(1 − B)): positive denominator whenever N > A, no cancellation.
    with np.errstate(divide="ignore", invalid="ignore"):
        c = n * b / (n - a * (1.0 - b))
    c = np.where(n > a, c, 1.0)
    return np.where(a > 0, c, 0.0)


def erlang_b(servers: ArrayLike, load: ArrayLike) -> FloatArray:
    """Blocking probability of M/M/N/N: share of customers finding every counter busy, no queue."""
    n = _servers_array(servers)
    a = _float_array(load, "load")
    shape, (n, a) = _flat(n, a)
    return _erlang_b_raw(n, a).reshape(shape)


def erlang_c(servers: ArrayLike, load: ArrayLike) -> FloatArray:
    """Probability of waiting in M/M/N (Erlang C).

    1.0 when servers ≤ load (the queue grows without bound), 0.0 when the load is zero.
    """
    n = _servers_array(servers)
    a = _float_array(load, "load")
    shape, (n, a) = _flat(n, a)
    return _erlang_c_from_b(n, a, _erlang_b_raw(n, a)).reshape(shape)


def _c_inputs(servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, target_wait: ArrayLike):
    n = _servers_array(servers)
    a = _float_array(load, "load")
    aht = _float_array(aht_seconds, "aht_seconds", positive=True)
    t = _float_array(target_wait, "target_wait")
    shape, (n, a, aht, t) = _flat(n, a, aht, t)
    return shape, n, a, aht, t


def _prob_wait_exceeds_raw(n: FloatArray, a: FloatArray, aht: FloatArray, t: FloatArray, c: FloatArray) -> FloatArray:
    # P(W > T) = C·e^(−(N−A)·T/AHT): a waiting customer's wait is exponential with rate (N−A)/AHT.
    with np.errstate(over="ignore", invalid="ignore"):
        tail = c * np.exp(-(n - a) * t / aht)
    tail = np.where(n > a, tail, 1.0)
    return np.where(a > 0, tail, 0.0)


def prob_wait_exceeds(servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, target_wait: ArrayLike) -> FloatArray:
    """Erlang C overtime-wait ratio P(W > target_wait); everyone is served, so it is also the share
    of served customers waiting longer. 1.0 when unstable (servers ≤ load > 0)."""
    shape, n, a, aht, t = _c_inputs(servers, load, aht_seconds, target_wait)
    c = _erlang_c_from_b(n, a, _erlang_b_raw(n, a))
    return _prob_wait_exceeds_raw(n, a, aht, t, c).reshape(shape)


def service_level(servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, target_wait: ArrayLike) -> FloatArray:
    """Erlang C service level P(W ≤ target_wait) = 1 − C·e^(−(N−A)·T/AHT); 0 when unstable."""
    shape, n, a, aht, t = _c_inputs(servers, load, aht_seconds, target_wait)
    c = _erlang_c_from_b(n, a, _erlang_b_raw(n, a))
    return (1.0 - _prob_wait_exceeds_raw(n, a, aht, t, c)).reshape(shape)


def mean_wait(servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike) -> FloatArray:
    """Erlang C average speed of answer (mean wait over all customers, seconds): C·AHT/(N − A).

    inf when unstable, 0 when the load is zero.
    """
    shape, n, a, aht, _ = _c_inputs(servers, load, aht_seconds, 0.0)
    c = _erlang_c_from_b(n, a, _erlang_b_raw(n, a))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = c * aht / (n - a)
    w = np.where(n > a, w, np.inf)
    return np.where(a > 0, w, 0.0).reshape(shape)


def _erlang_b_start(a: FloatArray, n0: FloatArray) -> FloatArray:
    """B(n0, a) per cell, where n0 = floor(a) + 1 (the first stable number of counters).

    Small n0 (the usual branch load) goes through the recursion 1/B(k) = 1 + (k/A)·(1/B(k−1)) from
    k = 0, which is stable and far cheaper than the incomplete gamma function: cells are sorted by n0
    (a radix sort of small integers) so that those still recursing at step k are a suffix, updated in
    place. Large n0 takes the Poisson-ratio closed form.
    """
    b = np.empty_like(a)
    small = n0 <= _RECURSION_MAX
    if not small.all():
        b[~small] = _erlang_b_raw(n0[~small], a[~small])
    idx = np.flatnonzero(small)
    if idx.size == 0:
        return b
    order = idx[np.argsort(n0[idx].astype(np.int16), kind="stable")]
    sorted_n = n0[order]
    inv_a = 1.0 / a[order]
    top = int(sorted_n[-1])
    starts = np.searchsorted(sorted_n, np.arange(1, top + 1), side="left")
    r = np.ones(order.size)
    with np.errstate(over="ignore"):  # A below 1e-308: 1/B = inf, B = 0, exact enough
        for k, s in enumerate(starts, start=1):
            seg = r[s:]
            seg *= inv_a[s:]
            seg *= k
            seg += 1.0
    b[order] = 1.0 / r
    return b


def _search_erlang_c(
    a: FloatArray, aht: FloatArray, t: FloatArray, level: FloatArray, max_counters: int
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Smallest N with service level ≥ level, on flat validated arrays (one chunk)."""
    size = a.size
    counters = np.zeros(size, dtype=np.int64)
    capped = np.zeros(size, dtype=bool)
    # Below floor(A)+1 the queue is unstable and the level is 0, so the search starts there; from
    # that start the level rises by the B recursion, so each cell needs only a few steps (about
    # β·√A), and cells drop out of the working set as soon as they meet their target.
    start = np.floor(a) + 1.0
    trivially = (a == 0) | (level <= 0)
    over = ~trivially & (start > max_counters)
    counters[over] = max_counters
    capped[over] = True
    idx = np.flatnonzero(~trivially & ~over)
    if idx.size == 0:
        return counters, capped
    n, aa = start[idx], a[idx]
    decay, goal = t[idx] / aht[idx], level[idx] - LEVEL_TOLERANCE
    b = _erlang_b_start(aa, n)
    while idx.size:
        c = n * b / (n - aa * (1.0 - b))
        sl = 1.0 - c * np.exp(-(n - aa) * decay)
        met = sl >= goal
        counters[idx[met]] = n[met]
        at_cap = ~met & (n >= max_counters)
        if at_cap.any():
            counters[idx[at_cap]] = max_counters
            capped[idx[at_cap]] = True
        keep = ~met & ~at_cap
        if not keep.all():
            idx, n, aa, b, decay, goal = idx[keep], n[keep], aa[keep], b[keep], decay[keep], goal[keep]
        # Stable Erlang B step: B(N+1) = A·B(N) / (N + 1 + A·B(N)).
        ab = aa * b
        n = n + 1.0
        b = ab / (n + ab)
    return counters, capped


def _run_chunks(search, columns: list[FloatArray], size: int, *extra) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Apply a search chunk by chunk: bounded temporaries, and NumPy/SciPy release the GIL inside
    their loops, so chunks run on all cores in threads."""
    counters = np.empty(size, dtype=np.int64)
    capped = np.empty(size, dtype=bool)

    def work(lo: int) -> None:
        hi = min(lo + _CHUNK, size)
        part = [c[lo:hi] if c.ndim else np.full(hi - lo, c) for c in columns]
        counters[lo:hi], capped[lo:hi] = search(*part, *extra)

    starts = range(0, size, _CHUNK)
    if _THREADS > 1 and size > _CHUNK:
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(work, starts))
    else:
        for lo in starts:
            work(lo)
    return counters, capped


def _columns(*arrays: FloatArray) -> tuple[tuple[int, ...], list[FloatArray]]:
    """Flatten to the broadcast shape, leaving single values 0-d (filled per chunk, never copied whole)."""
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    cols = []
    for a in arrays:
        if a.size == 1:
            cols.append(a.reshape(()))
        elif a.shape == shape:
            cols.append(a.reshape(-1))
        else:
            cols.append(np.broadcast_to(a, shape).reshape(-1))
    return shape, cols


def counters_needed(
    load: ArrayLike,
    aht_seconds: ArrayLike,
    target_wait: ArrayLike,
    target_level: ArrayLike,
    *,
    max_counters: int = DEFAULT_MAX_COUNTERS,
) -> CountersNeeded:
    """Erlang C: the fewest counters with service level ≥ target_level (e.g. 0.8 within 600 s).

    Zero load (or a target level of 0) needs 0 counters. Where max_counters does not suffice (in particular load ≥ max_counters)
    the result is max_counters and ``capped`` is True. Cost is a few array passes per counter, never a
    Python loop per cell; large inputs are processed in chunks (threads) to bound memory.
    """
    max_counters = _max_counters(max_counters)
    a = _float_array(load, "load")
    aht = _float_array(aht_seconds, "aht_seconds", positive=True)
    t = _float_array(target_wait, "target_wait")
    level = _level_array(target_level, "target_level")
    shape, cols = _columns(a, aht, t, level)
    size = int(np.prod(shape))
    counters, capped = _run_chunks(_search_erlang_c, cols, size, max_counters)
    return CountersNeeded(counters.reshape(shape), capped.reshape(shape))


def counters_needed_overtime(
    load: ArrayLike,
    aht_seconds: ArrayLike,
    threshold: ArrayLike,
    max_ratio: ArrayLike,
    *,
    max_counters: int = DEFAULT_MAX_COUNTERS,
) -> CountersNeeded:
    """Erlang C: the fewest counters with overtime-wait ratio P(W > threshold) ≤ max_ratio."""
    # Nobody abandons in Erlang C, so the ratio is exactly 1 − service level at the same threshold.
    ratio = _level_array(max_ratio, "max_ratio")
    return counters_needed(load, aht_seconds, threshold, 1.0 - ratio, max_counters=max_counters)


# --------------------------------------------------------------------------------------------------
# Erlang A (M/M/N+M): exponential patience with mean `patience` seconds.
#
# With μ = 1/AHT, θ = 1/patience, x = Nμ/θ, y = λ/θ, the stationary probabilities of the
# birth–death chain are π_n ∝ A^n/n! for n ≤ N and π_(N+k) = π_N·y^k/((x+1)…(x+k)) above, so
# Σ_k π_(N+k) = π_N·S(x, y) (Garnett, Mandelbaum & Reiman 2002, their A(x, y)). Everything follows
# from S and Erlang B (E = B(N, A)):
#   P(wait)              = E·S / (1 + (S − 1)·E)
#   P(served | wait)     = (x/y)·(1 − 1/S)              (from λ·P(ab) = θ·E[queue])
#   P(V > t | wait)      = P(x, y·e^(−θt)) / P(x, y)     (virtual wait V)
#   P(served, V > T | wait) = x/(x+1) · e^(−θT(x+1) + y − z) · S(x+1, z) / S(x, y),  z = y·e^(−θT)
#     (∫_T^∞ e^(−θt) dP(V ≤ t): the customer is served iff her patience outlasts V)
#   E[W] over all arrivals = P(ab) · patience          (Little's law on the queue)


def _s_series(x: FloatArray, y: FloatArray) -> FloatArray:
    """S(x, y) = Σ_k y^k/((x+1)…(x+k)) summed directly.

    Only used where P(x, y) underflows, which needs y well below x: the terms then fall at least as
    fast as (y/(x+1))^k and are all positive, so the forward sum is exact to rounding.
    """
    total = np.ones_like(y)
    term = np.ones_like(y)
    idx = np.arange(y.size)
    for k in range(1, _SERIES_MAX_TERMS):
        term = term * y[idx] / (x[idx] + k)
        total[idx] += term
        going = term > _SERIES_EPS * total[idx]
        if not going.all():
            idx, term = idx[going], term[going]
        if idx.size == 0:
            break
    return total


def _log_s(x: FloatArray, y: FloatArray) -> FloatArray:
    """log S(x, y) = log Γ(x+1) + y − x·log y + log P(x, y), with the series where P underflows."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        p = special.gammainc(x, y)
        out = special.gammaln(x + 1) + y - special.xlogy(x, y) + np.log(p)
    weak = ~(p > _TINY)  # also y = 0 (P = 0) and x = y = 0 (NaN): the series gives S = 1 there
    if weak.any():
        out[weak] = np.log(_s_series(x[weak], y[weak]))
    return out


def _erlang_a_raw(
    n: FloatArray, a: FloatArray, aht: FloatArray, patience: FloatArray, t: FloatArray
) -> tuple[FloatArray, ...]:
    """Erlang A on flat validated arrays with finite patience: (wait, abandon, level, served_late, mean wait)."""
    ratio = patience / aht
    x, y = n * ratio, a * ratio
    theta_t = t / patience
    e = _erlang_b_raw(n, a)
    log_s = _log_s(x, y)
    z = y * np.exp(-theta_t)
    log_s1 = _log_s(x + 1.0, z)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        # 1/(1 + (1−E)/(E·S)) is E·S/(1 + (S−1)·E) without overflow when S is astronomically large.
        p_wait = 1.0 / (1.0 + (1.0 - e) * np.exp(-np.log(e) - log_s))
        served_if_wait = np.where(y > 0, x / y * -np.expm1(-log_s), 1.0)
        late_if_wait = x / (x + 1.0) * np.exp(-theta_t * (x + 1.0) + (y - z) + log_s1 - log_s)
    p_wait = np.where(a > 0, p_wait, 0.0)
    served_if_wait = np.clip(served_if_wait, 0.0, 1.0)
    late_if_wait = np.clip(np.where(x > 0, late_if_wait, 0.0), 0.0, served_if_wait)
    p_abandon = p_wait * (1.0 - served_if_wait)
    level = (1.0 - p_wait) + p_wait * (served_if_wait - late_if_wait)
    p_served = 1.0 - p_abandon
    with np.errstate(divide="ignore", invalid="ignore"):
        overtime = np.where(p_served > 0, p_wait * late_if_wait / p_served, 0.0)
    return p_wait, p_abandon, np.clip(level, 0.0, 1.0), np.clip(overtime, 0.0, 1.0), p_abandon * patience


def _erlang_a_all(
    n: FloatArray, a: FloatArray, aht: FloatArray, patience: FloatArray, t: FloatArray
) -> tuple[FloatArray, ...]:
    """Erlang A where patience is finite, Erlang C (nobody abandons) where it is infinite."""
    finite = patience < np.inf
    if finite.all():
        return _erlang_a_raw(n, a, aht, patience, t)
    b = _erlang_b_raw(n, a)
    c = _erlang_c_from_b(n, a, b)
    tail = _prob_wait_exceeds_raw(n, a, aht, t, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(a > 0, np.where(n > a, c * aht / (n - a), np.inf), 0.0)
    out = [c, np.zeros_like(c), 1.0 - tail, tail, w]
    if finite.any():
        part = _erlang_a_raw(n[finite], a[finite], aht[finite], patience[finite], t[finite])
        for full, values in zip(out, part, strict=True):
            full[finite] = values
    return tuple(out)


def erlang_a(
    servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, patience_seconds: ArrayLike, target_wait: ArrayLike
) -> ErlangAResult:
    """All Erlang A (M/M/N+M) measures at once; patience_seconds is the mean patience θ⁻¹.

    An infinite patience gives the Erlang C values (nobody abandons). Unlike Erlang C the queue is
    stable for any number of counters, so servers ≤ load is allowed.
    """
    n = _servers_array(servers)
    a = _float_array(load, "load")
    aht = _float_array(aht_seconds, "aht_seconds", positive=True)
    patience = _float_array(patience_seconds, "patience_seconds", positive=True, allow_inf=True)
    t = _float_array(target_wait, "target_wait")
    shape, flat = _flat(n, a, aht, patience, t)
    return ErlangAResult(*(v.reshape(shape) for v in _erlang_a_all(*flat)))


def erlang_a_prob_wait(
    servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, patience_seconds: ArrayLike
) -> FloatArray:
    """Erlang A probability that every counter is busy on arrival."""
    return erlang_a(servers, load, aht_seconds, patience_seconds, 0.0).prob_wait


def erlang_a_prob_abandon(
    servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, patience_seconds: ArrayLike
) -> FloatArray:
    """Erlang A probability that a customer leaves before being called."""
    return erlang_a(servers, load, aht_seconds, patience_seconds, 0.0).prob_abandon


def erlang_a_service_level(
    servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, patience_seconds: ArrayLike, target_wait: ArrayLike
) -> FloatArray:
    """Erlang A service level P(W ≤ target_wait and served)."""
    return erlang_a(servers, load, aht_seconds, patience_seconds, target_wait).service_level


def erlang_a_overtime_ratio(
    servers: ArrayLike, load: ArrayLike, aht_seconds: ArrayLike, patience_seconds: ArrayLike, threshold: ArrayLike
) -> FloatArray:
    """Erlang A overtime-wait ratio: among served customers, the share who waited longer than threshold."""
    return erlang_a(servers, load, aht_seconds, patience_seconds, threshold).overtime_ratio


def _search_erlang_a(
    a: FloatArray, aht: FloatArray, patience: FloatArray, t: FloatArray, level: FloatArray,
    max_overtime: FloatArray, max_abandon: FloatArray, max_counters: int,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Smallest N meeting every given Erlang A target, on flat validated arrays (one chunk).

    The measures improve with N (for the overtime-wait ratio from N = 1 on, checked numerically, up to
    rounding of about 1e-12), so this is a monotone search: start from the Erlang C answer
    (usually within a counter or two of the Erlang A one), gallop (steps 1, 2, 4, …) to bracket the
    answer in (lo, hi], then bisect. Each step evaluates Erlang A only on the cells still searching.
    """
    size = a.size
    counters = np.zeros(size, dtype=np.int64)
    capped = np.zeros(size, dtype=bool)

    def meets(idx: NDArray[np.intp], n: FloatArray) -> NDArray[np.bool_]:
        _, p_ab, sl, overtime, _ = _erlang_a_all(n, a[idx], aht[idx], patience[idx], t[idx])
        return (
            (sl >= level[idx] - LEVEL_TOLERANCE)
            & (overtime <= max_overtime[idx] + LEVEL_TOLERANCE)
            & (p_ab <= max_abandon[idx] + LEVEL_TOLERANCE)
        )

    idx = np.flatnonzero(a > 0)  # no customers: no counter needed
    if idx.size == 0:
        return counters, capped
    top = float(max_counters)
    guess, _ = _search_erlang_c(a[idx], aht[idx], t[idx], level[idx], max_counters)
    guess = guess.astype(np.float64)
    ok = meets(idx, guess)
    # lo fails (−1 stands for "below zero counters"), hi meets; NaN = not known yet.
    lo = np.where(ok, np.nan, guess)
    hi = np.where(ok, guess, np.nan)
    step = np.ones(idx.size)
    todo = np.flatnonzero(np.isnan(lo) | np.isnan(hi))
    while todo.size:
        down = np.isnan(lo[todo])
        cand = np.where(down, hi[todo] - step[todo], np.minimum(lo[todo] + step[todo], top))
        below_zero = down & (cand < 0)
        test = ~below_zero
        res = np.zeros(todo.size, dtype=bool)
        res[test] = meets(idx[todo[test]], cand[test])
        lo[todo[below_zero]] = -1.0
        # Going down: meeting moves hi; going up: failing moves lo. Either way the other end may be found.
        new_hi = test & res
        new_lo = test & ~res
        hi[todo[new_hi]] = cand[new_hi]
        lo[todo[new_lo]] = cand[new_lo]
        gave_up = ~down & ~res & (cand >= top)
        capped[idx[todo[gave_up]]] = True
        hi[todo[gave_up]] = top
        lo[todo[gave_up]] = top - 1.0  # stop searching; capped cells report max_counters
        step[todo] *= 2.0
        todo = todo[np.isnan(lo[todo]) | np.isnan(hi[todo])]
    work = np.flatnonzero(hi - lo > 1)
    while work.size:
        mid = np.floor((lo[work] + hi[work]) / 2)
        res = meets(idx[work], mid)
        hi[work[res]] = mid[res]
        lo[work[~res]] = mid[~res]
        work = work[hi[work] - lo[work] > 1]
    counters[idx] = hi.astype(np.int64)
    return counters, capped


def counters_needed_erlang_a(
    load: ArrayLike,
    aht_seconds: ArrayLike,
    patience_seconds: ArrayLike,
    target_wait: ArrayLike,
    target_level: ArrayLike,
    *,
    max_overtime: ArrayLike | None = None,
    max_abandon: ArrayLike | None = None,
    max_counters: int = DEFAULT_MAX_COUNTERS,
) -> CountersNeeded:
    """Erlang A: the fewest counters with P(W ≤ target_wait and served) ≥ target_level.

    Optionally also overtime-wait ratio (among served, wait > target_wait) ≤ max_overtime and
    P(abandon) ≤ max_abandon. Pass target_level=0 to staff on the other targets alone. Where
    max_counters does not suffice the result is max_counters with ``capped`` True. Infinite patience
    gives the Erlang C answer.
    """
    max_counters = _max_counters(max_counters)
    a = _float_array(load, "load")
    aht = _float_array(aht_seconds, "aht_seconds", positive=True)
    patience = _float_array(patience_seconds, "patience_seconds", positive=True, allow_inf=True)
    t = _float_array(target_wait, "target_wait")
    level = _level_array(target_level, "target_level")
    # An absent target is a bound every evaluation meets (shares never exceed 1).
    overtime = _level_array(1.0 if max_overtime is None else max_overtime, "max_overtime")
    abandon = _level_array(1.0 if max_abandon is None else max_abandon, "max_abandon")
    shape, cols = _columns(a, aht, patience, t, level, overtime, abandon)
    counters, capped = _run_chunks(_search_erlang_a, cols, int(np.prod(shape)), max_counters)
    return CountersNeeded(counters.reshape(shape), capped.reshape(shape))


# --------------------------------------------------------------------------------------------------
# Choosing the model


def estimate_patience(abandoned: ArrayLike, total_wait_seconds: ArrayLike) -> FloatArray:
    """Mean patience (seconds) under exponential patience: total waiting time of all customers
    (served and abandoned) divided by the number who abandoned.

    This is the maximum-likelihood estimate (every second in the queue is exposure to abandoning);
    inf where nobody abandoned, i.e. Erlang C.
    """
    ab = _float_array(abandoned, "abandoned")
    wait = _float_array(total_wait_seconds, "total_wait_seconds")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ab > 0, wait / np.where(ab > 0, ab, 1.0), np.inf)


def abandonment_significant(
    abandoned: ArrayLike, arrivals: ArrayLike, *, threshold: float = DEFAULT_ABANDON_THRESHOLD
) -> NDArray[np.bool_]:
    """True where the observed abandonment share exceeds threshold (default 5 %): Erlang A is needed."""
    ab = _float_array(abandoned, "abandoned")
    arr = _float_array(arrivals, "arrivals")
    if not 0 <= threshold <= 1:
        raise ValueError("threshold must be a share between 0 and 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        return (arr > 0) & (ab > threshold * arr)


def choose_model(
    abandoned: ArrayLike, arrivals: ArrayLike, *, threshold: float = DEFAULT_ABANDON_THRESHOLD
) -> NDArray[np.str_]:
    """'erlang_a' where abandonment is significant, else 'erlang_c'."""
    return np.where(abandonment_significant(abandoned, arrivals, threshold=threshold), "erlang_a", "erlang_c")


def counters_needed_auto(
    load: ArrayLike,
    aht_seconds: ArrayLike,
    target_wait: ArrayLike,
    target_level: ArrayLike,
    *,
    patience_seconds: ArrayLike,
    abandon_share: ArrayLike,
    threshold: float = DEFAULT_ABANDON_THRESHOLD,
    max_counters: int = DEFAULT_MAX_COUNTERS,
) -> tuple[CountersNeeded, NDArray[np.bool_]]:
    """Counters by Erlang A where the observed abandonment share exceeds threshold, Erlang C elsewhere.

    Returns the staffing and a mask of where Erlang A was used.
    """
    share = _level_array(abandon_share, "abandon_share")
    if not 0 <= threshold <= 1:
        raise ValueError("threshold must be a share between 0 and 1")
    patience = _float_array(patience_seconds, "patience_seconds", positive=True, allow_inf=True)
    a = _float_array(load, "load")
    aht = _float_array(aht_seconds, "aht_seconds", positive=True)
    t = _float_array(target_wait, "target_wait")
    level = _level_array(target_level, "target_level")
    shape, (a, aht, t, level, patience, share) = _flat(a, aht, t, level, patience, share)
    use_a = (share > threshold) & (patience < np.inf)
    counters, capped = counters_needed(a, aht, t, level, max_counters=max_counters)
    if use_a.any():
        ca, cap_a = counters_needed_erlang_a(
            a[use_a], aht[use_a], patience[use_a], t[use_a], level[use_a], max_counters=max_counters)
        counters[use_a], capped[use_a] = ca, cap_a
    return CountersNeeded(counters.reshape(shape), capped.reshape(shape)), use_a.reshape(shape)
