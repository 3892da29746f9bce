"""How often cases open by chance, and how soon they open for a real divergence.

    .venv/bin/python benchmarks/case_simulation.py [--branches 1000] [--weeks 52] [--q 0.05]

No database: a chain of --branches branches is simulated contact by contact (daily counts
per channel) for --weeks weeks and judged each week as the engine does it, with the same
functions (``consistency.stats`` for the standard, peer and CUSUM tests,
``consistency.case_rules`` for the false-discovery-rate rule that opens cases).

* In control: every branch meets the standard, and branches differ by ±2 points of true
  variety (rates uniformly within 2 points of target + 2 points; for the rare-event rates,
  abandonment and complaints, within ±20 % of 80 % of the target). Volumes are log-normal
  (median 150 contacts a week, 15 to 2 500) over four channels.
* Planted: --planted branches of 250 contacts a week whose response rate drops by 10
  points at week 20, and as many whose response rate slides by 0.75 points a week from
  week 20.

Prints false cases per 100 branches per quarter (goal ≤ 1) beside today's weekly alarms
and CUSUM signals, and for the planted branches the detection delay in weeks: first case
against first alarm or signal (goal: no slower).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consistency import case_rules, stats  # noqa: E402
from consistency.defaults import CUSUM_H, MIN_N, TARGETS  # noqa: E402

CHANNEL_SHARES = {"in_person": 0.45, "phone": 0.35, "email": 0.1, "chat": 0.1}
# metric: share of contacts it is measured on (CSAT only where a survey was answered)
MEASURED = {
    "response_within_standard": 1.0,
    "first_contact_resolution": 0.95,
    "abandonment_rate": 1.0,
    "complaint_rate": 1.0,
    "csat_satisfied": 0.33,
}
PLANTED_METRIC = "response_within_standard"
ONSET = 20
QUIET_TO_RESOLVE = 3


@dataclass
class Outcome:
    """What one simulated year gave."""

    branches: int
    weeks: int
    cases_opened: int = 0  # in-control branches
    reopened: int = 0
    alarms_today: int = 0  # in-control alarm and signal flags (branch-metric-weeks)
    warnings_today: int = 0
    delays_new: dict[str, list[float]] = field(default_factory=dict)
    delays_today: dict[str, list[float]] = field(default_factory=dict)
    sources: Counter[str] = field(default_factory=Counter)  # in-control discoveries by test

    def per_100_per_quarter(self, count: int, branches: int) -> float:
        return count / (branches / 100) / (self.weeks / 13)


def _rates(rng: np.random.Generator, metric: str, branches: int) -> np.ndarray:
    target, direction, _ = TARGETS[metric]
    if direction == "at_least":
        return np.clip(target + 0.02 + rng.uniform(-0.02, 0.02, branches), 0.0, 0.999)
    return target * 0.8 * (1 + rng.uniform(-0.2, 0.2, branches))


def simulate(
    branches: int = 1000,
    weeks: int = 52,
    planted: int = 40,
    q: float = case_rules.DEFAULT_Q,
    seed: int = 7,
    progress: bool = False,
) -> Outcome:
    rng = np.random.default_rng(seed)
    total = branches + 2 * planted
    weekly = np.clip(rng.lognormal(np.log(150), 0.8, total), 15, 2500)
    weekly[branches:] = 250
    kinds = np.array(["control"] * branches + ["drop"] * planted + ["slide"] * planted)
    outcome = Outcome(branches=branches, weeks=weeks)
    channels = list(CHANNEL_SHARES)
    scopes = ["all", *channels]
    opened = np.full((total, len(MEASURED)), -1)  # week a case (re)opened, -1: none open
    quiet = np.zeros((total, len(MEASURED)), dtype=int)
    resolved_at = np.full((total, len(MEASURED)), -999)
    first_case = np.full((total, len(MEASURED)), -1)
    first_flag = np.full((total, len(MEASURED)), -1)
    rates = {m: _rates(rng, m, total) for m in MEASURED}
    # previous weeks' p-values per (metric, scope, test): for the persistence test
    history: dict[tuple[str, str, str], list[np.ndarray]] = {}
    cusum_state = {m: np.zeros(total) for m in MEASURED}
    cusum_weeks: dict[str, list[np.ndarray]] = {m: [] for m in MEASURED}
    started = time.monotonic()
    for week in range(weeks):
        p_lists: list[np.ndarray] = []
        owners: list[tuple[int, np.ndarray, str]] = []  # metric index, branch per p, source
        flagged_unit = np.zeros((total, len(MEASURED)), dtype=bool)
        judged = 0
        charts = 0
        for mi, metric in enumerate(MEASURED):
            target, direction_name, _ = TARGETS[metric]
            direction = stats.Direction(direction_name)
            rate = rates[metric].copy()
            if metric == PLANTED_METRIC and week >= ONSET:
                rate[kinds == "drop"] -= 0.10
                rate[kinds == "slide"] -= 0.0075 * (week - ONSET + 1)
            rate = np.clip(rate, 0.001, 0.999)
            daily_n = rng.poisson(
                weekly[:, None, None]
                * MEASURED[metric]
                / 7
                * np.array(list(CHANNEL_SHARES.values()))[None, None, :],
                size=(total, 7, len(channels)),
            )
            daily_x = rng.binomial(daily_n, rate[:, None, None])
            by_scope = {"all": (daily_x.sum(axis=(1, 2)), daily_n.sum(axis=(1, 2)))}
            for ci, channel in enumerate(channels):
                by_scope[channel] = (daily_x[:, :, ci].sum(axis=1), daily_n[:, :, ci].sum(axis=1))
            for scope in scopes:
                x, n = by_scope[scope]
                enough = n >= MIN_N
                judged += 2 * int(enough.sum())
                centre = np.full(total, target)
                tests = [("standard", centre, 0.0)]
                model = stats.peer_model_many(x, n, MIN_N)
                if model is not None:
                    tests.append(("peers", np.full(total, model.pooled), model.tau2))
                for test, middle, tau2 in tests:
                    j = stats.judge_many(x, n, middle, direction, MIN_N, tau2)
                    flags = j.codes >= 2
                    p = np.ones(total)
                    p[flags] = case_rules.bad_side_p(
                        x[flags], n[flags], middle[flags], tau2, direction
                    )
                    if kinds.size and scope in scopes:
                        is_alarm = j.codes == 3
                        control = kinds == "control"
                        outcome.alarms_today += int((is_alarm & control).sum())
                        outcome.warnings_today += int(((j.codes == 2) & control).sum())
                        newly = is_alarm & (first_flag[:, mi] < 0) & (week >= ONSET)
                        first_flag[newly, mi] = week
                    flagged_unit[:, mi] |= flags
                    key = (metric, scope, test)
                    past = history.setdefault(key, [])
                    persist = np.ones(total)
                    if past:
                        best_before = np.minimum.reduce(
                            past[-(case_rules.PERSISTENCE_WINDOW - 1) :]
                        )
                        both = flags & (best_before < 1)
                        persist[both] = case_rules.persistence_p(np.maximum(p, best_before)[both])
                    past.append(p)
                    if len(past) > case_rules.PERSISTENCE_WINDOW - 1:
                        past.pop(0)
                    for values, kind in ((p, "single"), (persist, "persistence")):
                        hit = values < 1
                        p_lists.append(values[hit])
                        owners.append((mi, np.flatnonzero(hit), f"{metric} {scope} {test} {kind}"))
            if metric in CUSUM_H:
                x, n = daily_x.sum(axis=2), daily_n.sum(axis=2)
                p0 = target if direction is stats.Direction.AT_MOST else 1 - target
                failures = x if direction is stats.Direction.AT_MOST else n - x
                steps = stats.cusum_increments(failures.T, n.T, p0)
                path, signals = stats.cusum_run(steps, CUSUM_H[metric], cusum_state[metric])
                cusum_state[metric] = np.where(signals[-1], 0.0, path[-1])
                signalled = np.asarray(signals.any(axis=0), dtype=bool)
                charts += total
                control = kinds == "control"
                outcome.alarms_today += int((signalled & control).sum())
                newly = signalled & (first_flag[:, mi] < 0) & (week >= ONSET)
                first_flag[newly, mi] = week
                recent = cusum_weeks[metric]
                recent.append(signals.sum(axis=0))
                if len(recent) > case_rules.CUSUM_WINDOW:
                    recent.pop(0)
                count = np.sum(recent, axis=0)
                cp = np.array(
                    [
                        case_rules.cusum_p(int(k)) if s else 1.0
                        for k, s in zip(count.tolist(), list(signalled), strict=True)
                    ]
                )
                hit = cp < 1
                p_lists.append(cp[hit])
                owners.append((mi, np.flatnonzero(hit), f"{metric} cusum"))
                flagged_unit[:, mi] |= signalled
        all_p = np.concatenate(p_lists) if p_lists else np.zeros(0)
        found = case_rules.benjamini_hochberg(all_p, case_rules.family_size(judged, charts), q)
        discovered = np.zeros((total, len(MEASURED)), dtype=bool)
        start = 0
        for (mi, who, source), values in zip(owners, p_lists, strict=True):
            hits = who[found[start : start + len(values)]]
            discovered[hits, mi] = True
            if in_control := int((kinds[hits] == "control").sum()):
                outcome.sources[source] += in_control
            start += len(values)
        # Case lifecycle: open on a discovery, join while open, resolve after quiet weeks.
        is_open = opened >= 0
        quiet = np.where(flagged_unit, 0, quiet + 1)
        resolving = is_open & (quiet >= QUIET_TO_RESOLVE) & ~discovered
        resolved_at[resolving] = week
        opened[resolving] = -1
        new = discovered & (opened < 0)
        relapse = new & (week - resolved_at <= 8)
        control = (kinds == "control")[:, None]
        outcome.cases_opened += int((new & ~relapse & control).sum())
        outcome.reopened += int((relapse & control).sum())
        opened[new] = week
        quiet[new] = 0
        first = new & (first_case < 0) & (week >= ONSET)
        first_case[first] = week
        if progress and (week + 1) % 13 == 0:
            print(f"  week {week + 1}/{weeks} ({time.monotonic() - started:.0f} s)", flush=True)
    mi = list(MEASURED).index(PLANTED_METRIC)
    for kind in ("drop", "slide"):
        rows = kinds == kind
        for store, first_week in (
            (outcome.delays_new, first_case),
            (outcome.delays_today, first_flag),
        ):
            weeks_seen = first_week[rows, mi]
            store[kind] = [float(w - ONSET + 1) if w >= 0 else float("inf") for w in weeks_seen]
    return outcome


def _delay(values: list[float]) -> str:
    finite = [v for v in values if np.isfinite(v)]
    missed = len(values) - len(finite)
    median = float(np.median(values)) if values else float("nan")
    mean = float(np.mean(finite)) if finite else float("nan")
    return f"median {median:4.1f}  mean {mean:4.1f}  never {missed}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--planted", type=int, default=40)
    parser.add_argument("--q", type=float, default=case_rules.DEFAULT_Q)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"simulating {args.branches} in-control branches + {2 * args.planted} planted, "
        f"{args.weeks} weeks, q = {args.q} …",
        flush=True,
    )
    started = time.monotonic()
    calm = simulate(args.branches, args.weeks, 0, args.q, args.seed, progress=True)
    out = simulate(args.branches, args.weeks, args.planted, args.q, args.seed + 1)
    per = calm.per_100_per_quarter
    false_cases = per(calm.cases_opened, calm.branches)
    print(f"done in {time.monotonic() - started:.0f} s\n")
    print("in control, per 100 branches per quarter:")
    print(f"  cases opened (false)            {false_cases:8.2f}   (goal <= 1)")
    print(f"  cases reopened (relapse)        {per(calm.reopened, calm.branches):8.2f}")
    print(f"  today: alarms + CUSUM signals   {per(calm.alarms_today, calm.branches):8.2f}")
    print(f"  today: warnings                 {per(calm.warnings_today, calm.branches):8.2f}")
    print("  in-control discoveries by test:", dict(calm.sources.most_common(4)) or "none")
    beside = out.per_100_per_quarter(out.cases_opened, out.branches)
    print(f"  with {2 * args.planted} diverging branches beside them: {beside:.2f} false cases")
    print("\ndetection delay, weeks from onset (planted response divergence):")
    slower = False
    for kind, label in (("drop", "10-point drop, 250/week"), ("slide", "slide, 0.75 points/week")):
        new, today = out.delays_new[kind], out.delays_today[kind]
        print(f"  {label:26s} cases: {_delay(new)}")
        print(f"  {'':26s} today: {_delay(today)}")
        slower |= float(np.median(new)) > float(np.median(today))
    met = false_cases <= 1 and not slower
    print(
        f"\nVERDICT: {'goals met' if met else 'goal missed'}: {false_cases:.2f} false cases "
        f"per 100 branches per quarter (<= 1), median delay "
        f"{'no slower' if not slower else 'slower'} than today's flags"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
