"""Review statistics checked against hand-worked and published values (no database)."""

from __future__ import annotations

import hashlib
import random

import pytest

from quality import stats
from quality.stats import BetaPrior, ItemAnswer

# Fleiss (1971), as reworked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters each,
# 5 categories; P-bar = 0.378, P-bar-e = 0.213, kappa = 0.210.
FLEISS_1971 = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def answer(
    value: int | None, *, weight: float = 1.0, scale: str = "yes_no", critical: bool = False
) -> ItemAnswer:
    return ItemAnswer(weight=weight, scale=scale, allow_na=True, critical=critical, value=value)


# -- Scoring -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "value", "share", "failed"),
    [
        ("yes_no", 0, 0.0, True),
        ("yes_no", 1, 1.0, False),
        ("one_to_five", 1, 0.0, True),
        ("one_to_five", 2, 0.25, True),
        ("one_to_five", 3, 0.5, False),
        ("one_to_five", 5, 1.0, False),
    ],
)
def test_item_share_and_fail(scale: str, value: int, share: float, failed: bool) -> None:
    assert stats.item_share(scale, value) == share
    assert stats.item_failed(scale, value) is failed


@pytest.mark.parametrize(("scale", "value"), [("yes_no", 2), ("one_to_five", 0), ("stars", 1)])
def test_values_outside_the_scale_are_refused(scale: str, value: int) -> None:
    with pytest.raises(ValueError, match="scale"):
        stats.item_share(scale, value)
    with pytest.raises(ValueError, match="scale"):
        stats.review_score([answer(value, scale=scale)])


def test_weighted_mean_skips_not_applicable_items() -> None:
    # (2 x 1 + 1 x 0.5 + 1 x 0) / (2 + 1 + 1) = 0.625; the N/A item weighs nothing.
    result = stats.review_score(
        [
            answer(1, weight=2.0),
            answer(3, scale="one_to_five"),
            answer(0),
            answer(None, weight=10.0),
        ]
    )
    assert result == stats.ReviewScore(score=0.625, critical_fail=False, applicable=3)


def test_nothing_applicable_has_no_score() -> None:
    assert stats.review_score([answer(None), answer(None, critical=True)]) == stats.ReviewScore(
        score=None, critical_fail=False, applicable=0
    )
    assert stats.review_score([]).score is None


def test_a_failed_critical_item_zeroes_the_review() -> None:
    result = stats.review_score(
        [answer(1, weight=5.0), answer(2, scale="one_to_five", critical=True)]
    )
    assert result == stats.ReviewScore(score=0.0, critical_fail=True, applicable=2)
    passing = stats.review_score([answer(1), answer(3, scale="one_to_five", critical=True)])
    assert passing == stats.ReviewScore(score=0.75, critical_fail=False, applicable=2)
    # A critical item that does not apply cannot fail.
    assert not stats.review_score([answer(1), answer(None, critical=True)]).critical_fail


def test_pass_mark_tolerates_float_sums() -> None:
    score = stats.review_score(
        [answer(1, weight=w) for w in (0.2, 0.5, 0.1)] + [answer(0, weight=0.2)]
    )
    assert score.score is not None
    assert score.score < 0.8  # 0.2 + 0.5 + 0.1 sums to 0.7999999999999999
    assert stats.passed(score.score, False, 0.8)
    assert not stats.passed(0.79, False, 0.8)
    assert not stats.passed(1.0, True, 0.8)
    assert not stats.passed(None, False, 0.0)


# -- Agreement ------------------------------------------------------------------------------------


def test_cohen_table_example() -> None:
    # Observed (20 + 15) / 50 = 0.7; expected (25 x 30 + 25 x 20) / 50^2 = 0.5; (0.7-0.5)/0.5.
    assert stats.cohen_kappa_table([[20, 5], [10, 15]]) == pytest.approx(0.40, abs=1e-9)


def test_cohen_from_pairs_matches_the_table() -> None:
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    result = stats.cohen_kappa(pairs)
    assert result is not None
    assert result.n == 50
    assert (result.kappa, result.observed, result.expected) == pytest.approx((0.4, 0.7, 0.5))


def test_cohen_three_categories_by_hand() -> None:
    # Rows A, columns B over 10 subjects: [[3, 1, 0], [0, 3, 0], [0, 1, 2]].
    # Observed 8/10; margins A = (4, 3, 3), B = (3, 5, 2); expected (12 + 15 + 6)/100 = 0.33;
    # kappa = (0.8 - 0.33) / 0.67 = 47/67.
    pairs = [("a", "a")] * 3 + [("a", "b"), ("b", "b"), ("b", "b"), ("b", "b")]
    pairs += [("c", "b"), ("c", "c"), ("c", "c")]
    result = stats.cohen_kappa(pairs)
    assert result is not None
    assert result.kappa == pytest.approx(47 / 67)
    assert stats.cohen_kappa_table([[3, 1, 0], [0, 3, 0], [0, 1, 2]]) == pytest.approx(47 / 67)


def test_cohen_perfect_and_degenerate_agreement() -> None:
    assert stats.cohen_kappa([]) is None
    varied = stats.cohen_kappa([(1, 1), (2, 2), (3, 3)])
    assert varied is not None
    assert varied.kappa == 1.0
    # Both raters always said "yes": expected agreement is 1 as well, and that counts as 1.0.
    single = stats.cohen_kappa([("yes", "yes")] * 4)
    assert single == stats.Kappa(kappa=1.0, n=4, observed=1.0, expected=1.0)


@pytest.mark.parametrize(
    "table", [[], [[1, 2]], [[1, 0], [0]], [[0, 0], [0, 0]], [[-1, 1], [1, 1]]]
)
def test_cohen_refuses_bad_tables(table: list[list[int]]) -> None:
    with pytest.raises(ValueError, match=r"table|negative"):
        stats.cohen_kappa_table(table)


def test_fleiss_classic_example() -> None:
    assert round(stats.fleiss_kappa(FLEISS_1971), 3) == 0.210


def test_fleiss_through_agreement_reports_its_parts() -> None:
    subjects = [[j for j, count in enumerate(row) for _ in range(count)] for row in FLEISS_1971]
    result = stats.agreement(subjects)
    assert result is not None
    assert result.n == 10
    assert (round(result.observed, 3), round(result.expected, 3)) == (0.378, 0.213)
    assert round(result.kappa, 3) == 0.210


def test_fleiss_degenerate_and_perfect() -> None:
    assert stats.fleiss_kappa([[3, 0], [3, 0]]) == 1.0
    assert stats.fleiss_kappa([[3, 0, 0], [0, 3, 0], [0, 0, 3]]) == 1.0


@pytest.mark.parametrize("counts", [[], [[2, 1], [1, 1]], [[1, 0], [0, 1]], [[2, 1], [3]]])
def test_fleiss_refuses_unequal_or_single_raters(counts: list[list[int]]) -> None:
    with pytest.raises(ValueError, match=r"raters|subject"):
        stats.fleiss_kappa(counts)


def test_agreement_uses_cohen_for_pairs_and_drops_missing_answers() -> None:
    subjects: list[list[str | None]] = [
        ["y", "y", None],
        ["y", "n"],
        [None, "n", "n"],
        ["n", "y"],
        ["y"],
        [None, None],
    ]
    result = stats.agreement(subjects)
    expected = stats.cohen_kappa([("y", "y"), ("y", "n"), ("n", "n"), ("n", "y")])
    assert result == expected
    assert result is not None
    assert result.n == 4


def test_agreement_keeps_the_modal_number_of_raters() -> None:
    # Three subjects with three answers, one with two: Fleiss over the three-answer subjects.
    subjects = [["a", "a", "a"], ["b", "b", "b"], ["a", "a", "b"], ["a", "b"]]
    result = stats.agreement(subjects)
    assert result is not None
    assert result.n == 3
    assert result.kappa == pytest.approx(stats.fleiss_kappa([[3, 0], [0, 3], [2, 1]]))


def test_agreement_perfect_and_empty() -> None:
    perfect = stats.agreement([["a", "a", "a"], ["b", "b", "b"], ["c", "c", "c"]])
    assert perfect is not None
    assert perfect.kappa == 1.0
    assert stats.agreement([]) is None
    assert stats.agreement([["a"], [None, "b"]]) is None


# -- Shrinkage -------------------------------------------------------------------------------------

# Eight established agents, 200 contacts each, from 0.70 to 0.90 around a branch rate of 0.80.
BRANCH = [(round(rate * 200), 200) for rate in (0.70, 0.77, 0.79, 0.80, 0.80, 0.81, 0.83, 0.90)]


def test_a_six_contact_agent_ranks_inside_the_branch_interval() -> None:
    """The branch's interval is the fitted prior's 2.5 %-97.5 % range: where the true rate of an
    agent of this branch lies before anything is known about them."""
    groups = [*BRANCH, (6, 6), (0, 6)]
    prior = stats.beta_prior(groups)
    branch = stats.shrink(0, 0, prior)
    estimates = [stats.shrink(x, n, prior).estimate for x, n in groups]
    for newcomer in estimates[-2:]:
        assert min(estimates) < newcomer < max(estimates)
        assert branch.low <= newcomer <= branch.high
    assert branch.low < 0.75 < 0.85 < branch.high


def test_small_groups_do_not_shape_the_prior() -> None:
    alone = stats.beta_prior(BRANCH)
    assert stats.beta_prior([*BRANCH, (0, 6), (6, 6), (0, 0)]) == alone
    # ... unless there are not two established groups to fit it from.
    assert stats.beta_prior([(0, 6), (6, 6), (3, 6)], fit_min_n=20).mean == pytest.approx(0.5)


def test_shrinking_nothing_gives_the_prior_and_much_data_gives_the_raw_rate() -> None:
    prior = stats.beta_prior(BRANCH)
    empty = stats.shrink(0, 0, prior)
    assert empty.raw is None
    assert empty.estimate == pytest.approx(prior.mean)
    large = stats.shrink(72_000, 100_000, prior)
    assert large.raw == 0.72
    assert large.estimate == pytest.approx(0.72, abs=1e-3)
    assert large.low < large.estimate < large.high
    assert large.high - large.low < 0.01


def test_posterior_interval_is_the_beta_quantiles() -> None:
    # Beta(1, 1) prior, 0 of 2: posterior Beta(1, 3), whose CDF is 1 - (1 - p)^3.
    result = stats.shrink(0, 2, BetaPrior(1.0, 1.0), level=0.90)
    assert result.estimate == pytest.approx(0.25)
    assert result.low == pytest.approx(1 - 0.95 ** (1 / 3))
    assert result.high == pytest.approx(1 - 0.05 ** (1 / 3))


def test_no_spread_falls_back_to_a_strong_pooled_prior() -> None:
    same = stats.beta_prior([(80, 100), (160, 200), (40, 50)])
    assert same.mean == pytest.approx(0.8)
    assert same.alpha + same.beta == pytest.approx(350)  # as strong as all the data
    huge = stats.beta_prior([(8000, 10000), (8000, 10000)])
    assert huge.alpha + huge.beta == pytest.approx(stats.STRENGTH_CAP)
    single = stats.beta_prior([(3, 4)])
    assert (single.mean, single.alpha + single.beta) == pytest.approx((0.75, 4))


def test_prior_edges() -> None:
    assert stats.beta_prior([]) == BetaPrior(1.0, 1.0)
    assert stats.beta_prior([(0, 0)], strength_floor=4.0) == BetaPrior(2.0, 2.0)
    everything = stats.beta_prior([(50, 50), (30, 30)])
    assert everything.alpha > 0
    assert everything.beta > 0
    assert everything.mean == pytest.approx(1 - 0.5 / 80)
    with pytest.raises(ValueError, match="x <= n"):
        stats.beta_prior([(5, 4)])
    with pytest.raises(ValueError, match="level"):
        stats.shrink(1, 2, BetaPrior(1.0, 1.0), level=1.0)


# -- Sampling and assignment -----------------------------------------------------------------------


def test_sample_key_is_blake2b_of_rule_and_interaction() -> None:
    digest = hashlib.blake2b(b"7:1234", digest_size=8).digest()
    assert stats.sample_key(7, 1234) == int.from_bytes(digest, "big")


def test_draw_is_reproducible_and_depends_on_the_rule() -> None:
    candidates = list(range(1000, 1200))
    shuffled = candidates[:]
    random.Random(4).shuffle(shuffled)
    first = stats.draw(candidates, rule_id=1, k=20)
    assert len(first) == 20
    assert stats.draw(shuffled, rule_id=1, k=20) == first
    assert stats.draw(candidates + candidates[:50], rule_id=1, k=20) == first
    assert set(stats.draw(candidates, rule_id=2, k=20)) != set(first)
    keys = [stats.sample_key(1, i) for i in first]
    assert keys == sorted(keys)
    assert max(keys) < min(stats.sample_key(1, i) for i in set(candidates) - set(first))


def test_draw_more_than_there_is() -> None:
    assert sorted(stats.draw([5, 3, 9], rule_id=1, k=10)) == [3, 5, 9]
    assert stats.draw([5, 3, 9], rule_id=1, k=0) == []
    with pytest.raises(ValueError, match="negative"):
        stats.draw([1], rule_id=1, k=-1)


def test_round_robin_balances_and_never_self_reviews() -> None:
    reviewers = [10, 11, 12]
    items = [(i, reviewers[i % 3]) for i in range(30)] + [(100 + i, None) for i in range(3)]
    assigned = stats.assign_round_robin(items, reviewers)
    assert set(assigned) == {i for i, _ in items}
    agents = dict(items)
    assert all(assigned[i] != agents[i] for i in assigned)
    loads = [list(assigned.values()).count(r) for r in reviewers]
    assert max(loads) - min(loads) <= 1


def test_round_robin_respects_existing_load_and_leaves_out_self_only_items() -> None:
    assigned = stats.assign_round_robin(
        [(1, None), (2, None), (3, None), (4, 20)], reviewers=[20, 21], load={20: 2, 99: 5}
    )
    # 21 catches up first (ties go to the lower id), and item 4 cannot go to its own agent.
    assert assigned == {1: 21, 2: 21, 3: 20, 4: 21}
    assert stats.assign_round_robin([(1, 7)], reviewers=[7]) == {}
    assert stats.assign_round_robin([(1, 7)], reviewers=[]) == {}
