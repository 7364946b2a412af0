"""Erlang C against textbook values, exact arithmetic, and the large-N limit."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onduty.sim.erlang import erlang_b, erlang_c, predict


def closed_form_erlang_c(servers: int, load: Fraction) -> Fraction:
    """The textbook formula in exact arithmetic: an oracle independent of the recursion."""
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    return top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)


def test_10_servers_at_8_33_erlangs_match_the_textbook() -> None:
    # 100 threads an hour, 5 minutes each, 10 agents: the classic call-centre example.
    result = predict(servers=10, arrivals_per_second=100 / 3600, handle_time=300, target_seconds=20)
    assert not result.overloaded
    assert result.p_wait == pytest.approx(float(closed_form_erlang_c(10, Fraction(25, 3))), rel=1e-12)
    assert result.p_wait == pytest.approx(0.4876, abs=1e-4)
    assert result.mean_wait_seconds == pytest.approx(87.77, abs=0.01)  # C·h/(N-A)
    assert result.service_level == pytest.approx(0.5637, abs=1e-4)  # 1 - C·exp(-(N-A)·T/h)
    assert result.occupancy == pytest.approx(0.8333, abs=1e-4)


def test_erlang_b_matches_the_table() -> None:
    assert erlang_b(10, 5.0) == pytest.approx(0.01838, abs=1e-5)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)


def test_one_server_waits_with_probability_rho() -> None:
    result = predict(servers=1, arrivals_per_second=0.5 / 60, handle_time=60, target_seconds=0)
    assert result.p_wait == pytest.approx(0.5)
    assert result.mean_wait_seconds == pytest.approx(60.0)  # rho/(1-rho)*h
    assert result.service_level == pytest.approx(0.5)  # within 0 s: only those who never wait


def test_two_servers_at_one_erlang_wait_a_third_of_the_time() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_no_load_means_no_wait() -> None:
    result = predict(servers=3, arrivals_per_second=0.0, handle_time=60, target_seconds=20)
    assert (result.p_wait, result.mean_wait_seconds, result.service_level, result.occupancy) == (0.0, 0.0, 1.0, 0.0)


@pytest.mark.parametrize("load", [10.0, 12.5, 1e6])
def test_load_at_or_over_the_servers_is_overloaded_not_a_number(load: float) -> None:
    result = predict(servers=10, arrivals_per_second=load / 300, handle_time=300, target_seconds=20)
    assert result.overloaded
    assert (result.p_wait, result.mean_wait_seconds, result.service_level) == (None, None, None)
    assert result.occupancy == 1.0
    assert erlang_c(10, load) == 1.0
    assert result.as_dict()["overloaded"] is True


def test_large_n_is_stable_and_near_halfin_whitt() -> None:
    servers, load = 10_000, 9_900.0
    p_wait = erlang_c(servers, load)
    # Halfin-Whitt: C ~ 1 / (1 + b*Phi(b)/phi(b)) with b = (N - A)/sqrt(A), accurate for large N.
    beta = (servers - load) / math.sqrt(load)
    density = math.exp(-beta * beta / 2) / math.sqrt(2 * math.pi)
    cumulative = 0.5 * (1 + math.erf(beta / math.sqrt(2)))
    assert p_wait == pytest.approx(1 / (1 + beta * cumulative / density), rel=0.02)
    assert 0.0 < erlang_c(100_000, 99_990.0) < 1.0  # A^N/N! would overflow a float long before this


@given(servers=st.integers(1, 60), utilisation=st.floats(0.0, 0.999))
def test_probabilities_are_ordered_and_match_exact_arithmetic(servers: int, utilisation: float) -> None:
    load = servers * utilisation
    b, c = erlang_b(servers, load), erlang_c(servers, load)
    assert 0.0 <= b <= c <= 1.0  # waiting is likelier than blocking would be
    assert c == pytest.approx(float(closed_form_erlang_c(servers, Fraction(load))), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("servers", "arrivals", "handle", "target"),
    [(0, 1.0, 1.0, 0.0), (1, -1.0, 1.0, 0.0), (1, 1.0, 0.0, 0.0), (1, 1.0, 1.0, -1.0), (1, math.nan, 1.0, 0.0)],
)
def test_nonsense_inputs_are_refused(servers: int, arrivals: float, handle: float, target: float) -> None:
    with pytest.raises(ValueError, match=r"servers|load|handle_time|target_seconds"):
        predict(servers, arrivals, handle, target)
