"""The Erlang staffing engine against independent computations.

- Erlang B/C against the textbook formulas in exact rational arithmetic (fractions.Fraction).
- Erlang A against the birth–death chain summed directly, with the tagged customer's fate
  (served by T, or abandoned) from a matrix exponential of its own small Markov chain.
- The service level at the recommended counters against discrete-event simulation (ciw).
- Searches against the closed forms: the answer meets the target, one counter fewer does not.
No database needed.
"""

import math
from fractions import Fraction

import ciw
import numpy as np
import pytest
from scipy.linalg import expm

from branchops.queueing import erlang as e

# --------------------------------------------------------------------------------------------------
# Independent references


def exact_erlang_b_c(load: float, servers: list[int]) -> dict[int, tuple[float, float]]:
    """Erlang B and C straight from the textbook sums, in exact rationals.

    B = (A^N/N!) / Σ_{k≤N} A^k/k!;  C = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)).
    """
    a = Fraction(str(load))
    top = max(servers)
    terms = [Fraction(1)]
    for k in range(1, top + 1):
        terms.append(terms[-1] * a / k)
    partial = [Fraction(0)]
    for term in terms:
        partial.append(partial[-1] + term)  # partial[n] = Σ_{k<n}
    out = {}
    for n in servers:
        b = terms[n] / partial[n + 1]
        if n <= a:
            c = Fraction(1)
        else:
            waiting = terms[n] * n / (n - a)
            c = waiting / (partial[n] + waiting)
        out[n] = (float(b), float(c))
    return out


def birth_death_erlang_a(n: int, load: float, aht: float, patience: float, t: float) -> dict[str, float]:
    """M/M/N+M measures from the truncated stationary distribution and the tagged customer's chain."""
    mu, theta = 1.0 / aht, 1.0 / patience
    lam = load * mu
    log_w = [k * math.log(load) - math.lgamma(k + 1) if load > 0 else (0.0 if k == 0 else -math.inf)
             for k in range(n + 1)]
    # Queue states N+k: extend until the ratio λ/(Nμ + kθ) is below 1 and the weights are negligible.
    k = 0
    while load > 0 and (lam >= n * mu + k * theta or log_w[-1] > max(log_w) - 50):
        k += 1
        log_w.append(log_w[-1] + math.log(lam / (n * mu + k * theta)))
    big_k = k
    top = max(log_w)
    w = np.array([math.exp(v - top) for v in log_w])
    pi = w / w.sum()
    queue = pi[n:]  # arrival sees k waiting ahead with probability queue[k] (PASTA)
    p_wait = queue.sum()
    mean_queue = float(np.dot(np.arange(queue.size), queue))
    p_abandon = theta * mean_queue / lam
    # Tagged customer with j ahead: j → j−1 at Nμ + jθ (service or abandonment ahead), abandons
    # herself at θ, and from j = 0 is served at Nμ. States 0..K, then served, abandoned.
    size = big_k + 1
    q = np.zeros((size + 2, size + 2))
    for j in range(size):
        if j > 0:
            q[j, j - 1] = n * mu + j * theta
        else:
            q[j, size] = n * mu
        q[j, size + 1] = theta
        q[j, j] = -(q[j].sum())
    served_by_t = expm(q * t)[:size, size] if t > 0 else np.zeros(size)
    # Served at all: survives each of the j+1 stages with probability rate/(rate + θ).
    stage = np.array([(n * mu + i * theta) / (n * mu + (i + 1) * theta) for i in range(size)])
    served_ever = np.cumprod(stage) if n > 0 else np.zeros(size)
    level = pi[:n].sum() + float(np.dot(queue, served_by_t))
    late = float(np.dot(queue, served_ever - served_by_t))
    return {"prob_wait": p_wait, "prob_abandon": p_abandon, "service_level": level,
            "overtime_ratio": late / (1 - p_abandon) if n > 0 else 0.0, "mean_wait": mean_queue / lam}


def log_s_reference(x: float, y: float) -> float:
    """log Σ_k y^k / ((x+1)…(x+k)), terms in log space with math.lgamma, summed until negligible."""
    logs = []
    k = 0
    while True:
        term = k * math.log(y) + math.lgamma(x + 1) - math.lgamma(x + k + 1) if k else 0.0
        logs.append(term)
        if k > y - x and term < max(logs) - 60:
            break
        k += 1
    top = max(logs)
    return top + math.log(math.fsum(math.exp(v - top) for v in logs))


# --------------------------------------------------------------------------------------------------
# Erlang B / C


LOADS = [0.1, 0.5, 1.0, 2.5, 7.3, 15.0, 42.7, 99.9, 150.0, 299.5, 300.0]


@pytest.mark.parametrize("load", LOADS)
def test_erlang_b_and_c_match_exact_arithmetic(load):
    servers = list(range(max(math.ceil(load), 1), int(load) + 41))
    exact = exact_erlang_b_c(load, servers)
    b = e.erlang_b(servers, load)
    c = e.erlang_c(servers, load)
    for i, n in enumerate(servers):
        b_ref, c_ref = exact[n]
        assert b[i] == pytest.approx(b_ref, rel=1e-9, abs=1e-9), (n, load)
        assert c[i] == pytest.approx(c_ref, rel=1e-9, abs=1e-9), (n, load)


def test_erlang_b_far_below_the_load_uses_the_series():
    # N far below A: the Poisson cdf underflows and the direct series must take over.
    servers = [1, 10, 100, 500]
    for load in (2000.0, 5000.0):
        exact = exact_erlang_b_c(load, servers)
        got = e.erlang_b(servers, load)
        for i, n in enumerate(servers):
            assert got[i] == pytest.approx(exact[n][0], rel=1e-9)


def test_service_level_and_mean_wait_from_exact_c():
    for load in (0.5, 7.3, 42.7, 299.5):
        servers = list(range(math.ceil(load), int(load) + 41))
        exact = exact_erlang_b_c(load, servers)
        aht, t = 240.0, 60.0
        sl = e.service_level(servers, load, aht, t)
        tail = e.prob_wait_exceeds(servers, load, aht, t)
        asa = e.mean_wait(servers, load, aht)
        for i, n in enumerate(servers):
            c = exact[n][1]
            if n <= load:
                assert sl[i] == 0.0 and tail[i] == 1.0 and asa[i] == math.inf
                continue
            ref_tail = c * math.exp(-(n - load) * t / aht)
            assert tail[i] == pytest.approx(ref_tail, rel=1e-9, abs=1e-12)
            assert sl[i] == pytest.approx(1 - ref_tail, abs=1e-9)
            assert asa[i] == pytest.approx(c * aht / (n - load), rel=1e-9, abs=1e-12)


def test_erlang_c_is_one_when_unstable_and_zero_without_load():
    assert e.erlang_c([1, 5, 6], 6.0).tolist() == [1.0, 1.0, 1.0]
    assert e.erlang_c([0, 1, 3], 0.0).tolist() == [0.0, 0.0, 0.0]
    assert e.service_level(3, 0.0, 300, 60) == 1.0
    assert e.mean_wait(3, 0.0, 300) == 0.0


def test_large_loads_stay_finite_and_monotone():
    load = 950.0
    servers = np.arange(951, 1100)
    c = e.erlang_c(servers, load)
    sl = e.service_level(servers, load, 300, 20)
    assert np.isfinite(c).all() and np.isfinite(sl).all()
    assert (np.diff(c) < 0).all() and (np.diff(sl) > 0).all()
    b = e.erlang_b(np.arange(0, 3000, 7), 1500.0)
    assert np.isfinite(b).all() and (np.diff(b) < 0).all()


def test_offered_load():
    assert e.offered_load(60, 300) == pytest.approx(10.0)
    assert e.offered_load([0, 30], 240, interval_seconds=3600).tolist() == [0.0, 2.0]


def test_broadcasting_keeps_shapes():
    loads = np.array([[1.0], [5.0], [20.0]])
    servers = np.array([2, 8, 25, 30])
    assert e.erlang_c(servers, loads).shape == (3, 4)
    assert e.service_level(servers, loads, 300, 60).shape == (3, 4)
    counters, capped = e.counters_needed(loads, np.array([180.0, 300.0]), 600, 0.8)
    assert counters.shape == capped.shape == (3, 2)
    assert e.erlang_c(5, 3.0).shape == ()


# --------------------------------------------------------------------------------------------------
# Searches


def _random_cells(seed: int, size: int, max_load: float):
    rng = np.random.default_rng(seed)
    load = np.concatenate([rng.uniform(0, 20, size // 2), rng.uniform(0, max_load, size - size // 2)])
    aht = rng.uniform(60, 900, size)
    t = rng.choice([0.0, 20.0, 60.0, 300.0, 600.0], size)
    level = rng.uniform(0.5, 0.99, size)
    return load, aht, t, level


def test_counters_needed_is_the_smallest_meeting_the_target():
    load, aht, t, level = _random_cells(1, 20_000, 300.0)
    counters, capped = e.counters_needed(load, aht, t, level, max_counters=1000)
    assert not capped.any()
    sl = e.service_level(counters, load, aht, t)
    assert (sl >= level - 1e-12).all()
    fewer = e.service_level(np.maximum(counters - 1, 0), load, aht, t)
    assert ((fewer < level) | (counters == 0)).all()
    assert (counters > load).all()


def test_counters_needed_for_overtime_ratio():
    counters, _ = e.counters_needed_overtime([5.0, 12.0], 300, 600, 0.1)
    tail = e.prob_wait_exceeds(counters, [5.0, 12.0], 300, 600)
    assert (tail <= 0.1).all()
    assert (e.prob_wait_exceeds(counters - 1, [5.0, 12.0], 300, 600) > 0.1).all()


def test_counters_needed_erlang_a_is_the_smallest_meeting_every_target():
    load, aht, t, level = _random_cells(2, 3000, 80.0)
    patience = np.random.default_rng(3).uniform(60, 3600, load.size)
    counters, capped = e.counters_needed_erlang_a(load, aht, patience, t, level, max_counters=400)
    assert not capped.any()
    sl = e.erlang_a_service_level(counters, load, aht, patience, t)
    assert (sl >= level - 1e-12).all()
    fewer = e.erlang_a_service_level(np.maximum(counters - 1, 0), load, aht, patience, t)
    assert ((fewer < level) | (counters == 0)).all()

    counters, _ = e.counters_needed_erlang_a(load, aht, patience, t, 0.0, max_abandon=0.03, max_overtime=0.2)
    res = e.erlang_a(counters, load, aht, patience, t)
    assert (res.prob_abandon <= 0.03 + 1e-12).all() and (res.overtime_ratio <= 0.2 + 1e-12).all()
    less = e.erlang_a(np.maximum(counters - 1, 0), load, aht, patience, t)
    assert ((less.prob_abandon > 0.03) | (less.overtime_ratio > 0.2) | (counters == 0)).all()


def test_infinite_patience_is_erlang_c():
    load, aht, t, level = _random_cells(4, 2000, 60.0)
    c_counters, _ = e.counters_needed(load, aht, t, level)
    a_counters, _ = e.counters_needed_erlang_a(load, aht, np.inf, t, level)
    assert (c_counters == a_counters).all()
    res = e.erlang_a(c_counters, load, aht, np.inf, t)
    assert np.allclose(res.service_level, e.service_level(c_counters, load, aht, t), atol=1e-12)
    assert (res.prob_abandon == 0).all()


# --------------------------------------------------------------------------------------------------
# Erlang A against the birth–death chain

ERLANG_A_CASES = [
    # counters, load (Erlangs), AHT s, mean patience s, target wait s
    (10, 8.0, 180.0, 300.0, 20.0),
    (5, 8.0, 180.0, 300.0, 60.0),  # overloaded: stable only thanks to abandonment
    (20, 25.0, 300.0, 600.0, 600.0),
    (3, 2.5, 300.0, 120.0, 30.0),
    (1, 0.7, 300.0, 900.0, 600.0),
    (50, 48.0, 240.0, 1200.0, 120.0),
    (12, 8.0, 60.0, 60_000.0, 30.0),  # very patient: P(x, y) underflows, the series path runs
    (0, 3.0, 300.0, 600.0, 60.0),
]


@pytest.mark.parametrize("case", ERLANG_A_CASES)
def test_erlang_a_matches_the_birth_death_chain(case):
    n, load, aht, patience, t = case
    ref = birth_death_erlang_a(n, load, aht, patience, t)
    got = e.erlang_a(n, load, aht, patience, t)
    for key, value in ref.items():
        assert float(getattr(got, key)) == pytest.approx(value, abs=1e-9, rel=1e-8), key


@pytest.mark.parametrize("x,y", [(50.0, 60.0), (6000.0, 1000.0), (2000.0, 1900.0), (3.0, 400.0), (12000.0, 8000.0),
                                 (0.5, 1e-3), (1e5, 9.9e4)])
def test_log_s_in_both_regimes(x, y):
    got = float(e._log_s(np.array([x]), np.array([y]))[0])
    assert got == pytest.approx(log_s_reference(x, y), rel=1e-10, abs=1e-10)


# --------------------------------------------------------------------------------------------------
# Discrete-event simulation (ciw): the service level at the recommended counters


def simulate(arrival_rate, aht, servers, target_wait, patience=None, hours=150, warm_up_hours=5, seed=7):
    """Simulated service level (called within target_wait and served) and abandonment share."""
    ciw.seed(seed)
    extra = {}
    if patience is not None:
        extra["reneging_time_distributions"] = [ciw.dists.Exponential(1 / patience)]
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(arrival_rate)],
        service_distributions=[ciw.dists.Exponential(1 / aht)],
        number_of_servers=[servers],
        **extra,
    )
    sim = ciw.Simulation(network)
    end = hours * 3600
    sim.simulate_until_max_time(end)
    # Drop the warm-up, and the last hours whose long waits would not have finished by the end.
    records = [r for r in sim.get_all_records() if warm_up_hours * 3600 <= r.arrival_date < end - 3 * 3600]
    met = sum(r.record_type == "service" and r.waiting_time <= target_wait for r in records)
    abandoned = sum(r.record_type == "renege" for r in records)
    return met / len(records), abandoned / len(records), len(records)


@pytest.mark.parametrize("arrivals,aht,target_wait", [(30, 300.0, 60.0), (60, 240.0, 30.0), (12, 420.0, 600.0)])
def test_simulation_confirms_erlang_c_service_level(arrivals, aht, target_wait):
    load = e.offered_load(arrivals, aht)
    counters, capped = e.counters_needed(load, aht, target_wait, 0.8)
    assert not capped
    predicted = float(e.service_level(counters, load, aht, target_wait))
    simulated, abandoned, customers = simulate(arrivals / 1800, aht, int(counters), target_wait)
    assert customers > 2000 and abandoned == 0
    assert simulated >= 0.75
    assert simulated == pytest.approx(predicted, abs=0.05)


@pytest.mark.parametrize("arrivals,aht,patience,target_wait", [(30, 300.0, 600.0, 60.0), (100, 180.0, 300.0, 20.0)])
def test_simulation_confirms_erlang_a_service_level(arrivals, aht, patience, target_wait):
    load = e.offered_load(arrivals, aht)
    counters, capped = e.counters_needed_erlang_a(load, aht, patience, target_wait, 0.8)
    assert not capped
    res = e.erlang_a(counters, load, aht, patience, target_wait)
    simulated, abandoned, _ = simulate(arrivals / 1800, aht, int(counters), target_wait, patience=patience, hours=100)
    assert simulated == pytest.approx(float(res.service_level), abs=0.05)
    assert abandoned == pytest.approx(float(res.prob_abandon), abs=0.02)


def test_simulation_confirms_erlang_a_when_overloaded():
    # Fewer counters than the load: Erlang C has no answer, Erlang A still does.
    arrivals, aht, patience, counters, target_wait = 60, 300.0, 400.0, 8, 120.0
    load = e.offered_load(arrivals, aht)
    res = e.erlang_a(counters, load, aht, patience, target_wait)
    simulated, abandoned, _ = simulate(arrivals / 1800, aht, counters, target_wait, patience=patience, hours=60)
    assert simulated == pytest.approx(float(res.service_level), abs=0.05)
    assert abandoned == pytest.approx(float(res.prob_abandon), abs=0.03)


# --------------------------------------------------------------------------------------------------
# Edge cases and validation


def test_zero_arrivals_need_no_counters():
    counters, capped = e.counters_needed([0.0, 0.0], [300.0, 1.0], 600, 0.8)
    assert counters.tolist() == [0, 0] and not capped.any()
    counters, capped = e.counters_needed_erlang_a(0.0, 300, 600, 600, 0.8)
    assert counters == 0 and not capped


def test_load_beyond_max_counters_is_capped_and_flagged():
    counters, capped = e.counters_needed([3.0, 20.0, 25.0, 19.5], 300, 600, 0.8, max_counters=20)
    assert counters.tolist() == [4, 20, 20, 20]
    assert capped.tolist() == [False, True, True, True]
    counters, capped = e.counters_needed_erlang_a([3.0, 200.0], 300, 600, 600, 0.8, max_counters=20)
    assert counters.tolist()[1] == 20 and capped.tolist() == [False, True]
    # An unreachable level is capped too.
    counters, capped = e.counters_needed(3.0, 300, 0, 1.0, max_counters=10)
    assert counters == 10 and capped


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: e.counters_needed(float("nan"), 300, 600, 0.8), "load"),
        (lambda: e.counters_needed(-1.0, 300, 600, 0.8), "load"),
        (lambda: e.counters_needed(3.0, [300, float("nan")], 600, 0.8), "aht_seconds"),
        (lambda: e.counters_needed(3.0, 0.0, 600, 0.8), "aht_seconds"),
        (lambda: e.counters_needed(3.0, 300, -5, 0.8), "target_wait"),
        (lambda: e.counters_needed(3.0, 300, 600, 1.5), "target_level"),
        (lambda: e.counters_needed(3.0, 300, 600, 0.8, max_counters=-1), "max_counters"),
        (lambda: e.erlang_c(2.5, 1.0), "servers"),
        (lambda: e.erlang_c(-1, 1.0), "servers"),
        (lambda: e.erlang_b(3, float("inf")), "load"),
        (lambda: e.offered_load([1, -2], 300), "arrivals_per_interval"),
        (lambda: e.erlang_a(3, 2.0, 300, 0.0, 60), "patience_seconds"),
        (lambda: e.counters_needed_erlang_a(3.0, 300, float("nan"), 60, 0.8), "patience_seconds"),
        (lambda: e.abandonment_significant(1, -3), "arrivals"),
    ],
)
def test_invalid_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --------------------------------------------------------------------------------------------------
# Choosing the model


def test_abandonment_threshold_picks_erlang_a():
    abandoned = np.array([0, 4, 6, 3])
    arrivals = np.array([100, 100, 100, 0])
    assert e.abandonment_significant(abandoned, arrivals).tolist() == [False, False, True, False]
    assert e.abandonment_significant(abandoned, arrivals, threshold=0.03).tolist() == [False, True, True, False]
    assert e.choose_model(abandoned, arrivals).tolist() == ["erlang_c", "erlang_c", "erlang_a", "erlang_c"]


def test_estimate_patience():
    assert e.estimate_patience([4, 0], [2400.0, 100.0]).tolist() == [600.0, math.inf]


def test_counters_needed_auto_mixes_the_models():
    load = np.array([8.0, 8.0, 0.0])
    share = np.array([0.01, 0.2, 0.3])
    (counters, capped), used_a = e.counters_needed_auto(
        load, 180, 20, 0.8, patience_seconds=300, abandon_share=share)
    assert used_a.tolist() == [False, True, True]
    c_only, _ = e.counters_needed(8.0, 180, 20, 0.8)
    a_only, _ = e.counters_needed_erlang_a(8.0, 180, 300, 20, 0.8)
    assert counters.tolist() == [int(c_only), int(a_only), 0]
    assert not capped.any()
