"""The demo chain: a deterministic generator of regions, branches, staff, customers and
interactions, with planted divergence whose truth is written to a JSON file.

It doubles as the data generator for benchmarks, so interactions are drawn in
vectorised batches (numpy) and streamed into the database with COPY on
PostgreSQL (executemany elsewhere); memory stays flat whatever the row count.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from branches.models import Branch, Region, Role, User
from customers.models import Channel, Customer
from interactions.models import Direction, Interaction, Moment, Outcome, ServiceCycle
from interactions.partitions import partitions_ensure

DEMO_PASSWORD = "demo1234"  # noqa: S105 - documented demo credential, never used in production
CHANNELS = [Channel.IN_PERSON, Channel.PHONE, Channel.EMAIL, Channel.CHAT]
# SPEC §3 default thresholds: the seconds within which a contact counts as answered in time.
THRESHOLDS = {Channel.IN_PERSON: 60, Channel.PHONE: 30, Channel.EMAIL: 14_400, Channel.CHAT: 60}
# Log-normal spread of waiting times; with medians at THRESHOLD / 2.56 about 88 % of contacts
# of a healthy branch are answered within the threshold.
WAIT_SIGMA = 0.8
WAIT_MEDIAN_FACTOR = 2.56
SLIDE_WEEKS = 4

REGIONS = [
    ("north", "North", "Europe/Oslo"),
    ("central", "Central", "Europe/Berlin"),
    ("west", "West", "Europe/Lisbon"),
    ("east", "East", "Europe/Helsinki"),
]
CITIES = [
    "Harbourside",
    "Old Town",
    "Riverside",
    "Station Square",
    "Market Street",
    "Hillcrest",
    "Lakeview",
    "University",
    "Airport",
    "Northgate",
    "Southbank",
    "Westfield",
    "Eastwood",
    "Cathedral",
    "Parkside",
    "Docklands",
    "Millbrook",
    "Kingsway",
    "Queens Road",
    "Bridgend",
    "Meadowvale",
    "Castle Hill",
    "Seafront",
    "Elmstead",
    "Ashford",
    "Brookside",
    "Canal Wharf",
    "Fairview",
    "Greenway",
    "Highfield",
]
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kaja",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Andersen",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nielsen",
    "Oliveira",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Torres",
    "Virtanen",
    "Weber",
    "Young",
    "Zimmermann",
]
TOPICS = [
    "cheque deposit",
    "cash withdrawal",
    "account opening",
    "card problem",
    "loan enquiry",
    "address change",
    "statement request",
    "fees",
    "online banking",
    "mortgage advice",
]
CYCLES = [
    (
        "cash-cheque",
        "Cash a cheque",
        Channel.IN_PERSON,
        [
            ("Arrive", False),
            ("Take a number", False),
            ("Wait to be called", True),
            ("At the counter", True),
            ("Count the money", True),
            ("Leave", False),
        ],
    ),
    (
        "phone-enquiry",
        "Phone enquiry",
        Channel.PHONE,
        [("Ring", False), ("Menu choice", False), ("Agent answers", True), ("Answer given", True)],
    ),
]


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 42
    branches: int = 24
    weeks: int = 12
    interactions: int = 40_000
    regions: int = len(REGIONS)  # branches are dealt round the first ``regions`` regions
    end: date | None = None  # first day after the data (a Monday); default: this week's Monday

    def end_date(self) -> date:
        if self.end is not None:
            return self.end
        today = datetime.now(UTC).date()
        return today - timedelta(days=today.weekday())


@dataclass
class BranchProfile:
    """How a branch behaves in the demo; planted branches depart from the healthy defaults."""

    code: str
    name: str
    region: str
    timezone: str
    weight: float
    channel_mix: list[float]
    wait_factor: float = 1.0
    phone_wait_factor: float = 1.0
    resolve_p: float = 0.82
    complaint_p: float = 0.012
    satisfaction_shift: float = 0.0
    planted: str = ""

    def params_for_week(self, week_index: int, weeks: int) -> tuple[float, float, float]:
        """(wait factor, resolve probability, satisfaction shift) in a given week."""
        if self.planted != "sliding":
            return self.wait_factor, self.resolve_p, self.satisfaction_shift
        step = week_index - (weeks - SLIDE_WEEKS) + 1  # 1..4 over the last four weeks
        if step <= 0:
            return self.wait_factor, self.resolve_p, self.satisfaction_shift
        return (
            self.wait_factor * (1 + 0.45 * step),
            self.resolve_p - 0.05 * step,
            self.satisfaction_shift - 0.06 * step,
        )


@dataclass
class DemoResult:
    regions: int = 0
    branches: int = 0
    staff: int = 0
    customers: int = 0
    interactions: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)


def demo_branch_profiles(options: DemoOptions, rng: np.random.Generator) -> list[BranchProfile]:
    """Branches of very different sizes spread over the regions, four of them planted."""
    count = options.branches
    profiles = []
    for i in range(count):
        region_code, _, tz = REGIONS[i % options.regions]
        city = CITIES[i % len(CITIES)]
        suffix = f" {i // len(CITIES) + 1}" if i >= len(CITIES) else ""
        mix = np.array([0.45, 0.30, 0.15, 0.10]) * rng.uniform(0.8, 1.2, 4)
        profiles.append(
            BranchProfile(
                code=f"{region_code[:3]}-{i + 1:02d}",
                name=f"{city}{suffix}",
                region=region_code,
                timezone=tz,
                # Log-normal sizes: the largest branch sees ~15x the smallest regular one.
                weight=float(np.exp(rng.normal(0.0, 0.7))),
                channel_mix=list(mix / mix.sum()),
                wait_factor=float(rng.uniform(0.85, 1.1)),
                resolve_p=float(rng.uniform(0.80, 0.86)),
                complaint_p=float(rng.uniform(0.008, 0.014)),
                satisfaction_shift=float(rng.uniform(-0.02, 0.03)),
            )
        )
    slow, complaints, sliding, small = profiles[1], profiles[3], profiles[4], profiles[-1]
    for planted in (slow, complaints, sliding):
        planted.weight = max(planted.weight, 1.2)  # big enough that the evidence is clear
    slow.planted, slow.phone_wait_factor = "slow_phone", 2.8
    complaints.planted, complaints.complaint_p = "high_complaints", 0.07
    sliding.planted = "sliding"
    small.planted, small.weight = "noisy_small", 0.08
    return profiles


def _truth(
    options: DemoOptions, profiles: Sequence[BranchProfile], counts: dict[str, int]
) -> dict[str, Any]:
    end = options.end_date()
    start = end - timedelta(weeks=options.weeks)
    slide_from = end - timedelta(weeks=SLIDE_WEEKS)
    by_kind = {p.planted: p.code for p in profiles if p.planted}
    return {
        "seed": options.seed,
        "weeks": options.weeks,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "interactions": sum(counts.values()),
        "thresholds_seconds": {str(k): v for k, v in THRESHOLDS.items()},
        "branches": {
            p.code: {**asdict(p), "interactions": counts.get(p.code, 0)} for p in profiles
        },
        "planted": [
            {
                "kind": "slow_phone",
                "branch": by_kind["slow_phone"],
                "metric": "response_within_standard",
                "channel": "phone",
                "from": start.isoformat(),
                "expect_flag": True,
                "description": "Phone waits about 2.8x the chain's: roughly half answered in 30 s.",
            },
            {
                "kind": "high_complaints",
                "branch": by_kind["high_complaints"],
                "metric": "complaint_rate",
                "channel": None,
                "from": start.isoformat(),
                "expect_flag": True,
                "description": "About 7 % of contacts are complaints, many at 'Count the money'.",
            },
            {
                "kind": "sliding",
                "branch": by_kind["sliding"],
                "metric": "response_within_standard",
                "also": ["first_contact_resolution", "csat_satisfied"],
                "channel": None,
                "from": slide_from.isoformat(),
                "expect_flag": True,
                "description": "Healthy until the last four weeks, then worse every week.",
            },
            {
                "kind": "noisy_small",
                "branch": by_kind["noisy_small"],
                "metric": None,
                "channel": None,
                "from": start.isoformat(),
                "expect_flag": False,
                "description": "A tiny branch with the chain's own rates: noisy, in control.",
            },
        ],
    }


class _RowWriter:
    """Streams tuples into one table: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self.table, self.columns = table, list(columns)

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(self.columns)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {self.table} ({cols}) VALUES ({marks})", rows)  # noqa: S608


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


FORMATS = ("flagship", "standard", "kiosk")


def _formats(profiles: Sequence[BranchProfile]) -> dict[str, str]:
    """The chain's formats by size, in thirds: flagships, standard branches, kiosks (each
    third a peer group of its own once it has enough branches)."""
    ranked = sorted(profiles, key=lambda p: -p.weight)
    third = max(1, -(-len(ranked) // 3))
    return {p.code: FORMATS[min(i // third, 2)] for i, p in enumerate(ranked)}


def _create_structure(
    profiles: Sequence[BranchProfile],
) -> tuple[dict[str, Branch], dict[str, list[int]], list[tuple[str, str, str]], int]:
    """Regions, branches, staff with documented logins, and the service cycles."""
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing per user would take minutes
    regions = {
        code: Region.objects.create(code=code, name=name)
        for code, name, _ in REGIONS
        if any(p.region == code for p in profiles)
    }
    formats = _formats(profiles)
    branches = {
        p.code: Branch.objects.create(
            region=regions[p.region],
            code=p.code,
            name=p.name,
            timezone=p.timezone,
            peer_group=formats[p.code],
        )
        for p in profiles
    }
    logins: list[tuple[str, str, str]] = []

    def staff(username: str, role: Role, first: str, last: str, **flags: bool) -> User:
        return User.objects.create(
            username=username,
            password=password,
            role=role,
            first_name=first,
            last_name=last,
            email=f"{username}@demo.example",
            is_staff=True,
            **flags,
        )

    staff("admin", Role.ADMIN, "Hedda", "Admin", is_superuser=True)
    logins.append(("admin", str(Role.ADMIN.label), "the whole chain, Django admin superuser"))
    for code, region in regions.items():
        manager = staff(f"rm.{code}", Role.REGIONAL_MANAGER, "Regional", region.name)
        manager.regions.add(region)
        logins.append((manager.username, str(Role.REGIONAL_MANAGER.label), f"region {region.name}"))
    agents: dict[str, list[int]] = {}
    for p in profiles:
        branch = branches[p.code]
        manager = staff(f"bm.{p.code}", Role.BRANCH_MANAGER, "Manager", p.name)
        manager.branches.add(branch)
        agents[p.code] = []
        for n in range(1, 2 + min(3, int(p.weight * 1.5))):
            agent = staff(f"agent.{p.code}.{n}", Role.AGENT, f"Agent {n}", p.name)
            agent.branches.add(branch)
            agents[p.code].append(agent.pk)
        if len(logins) < len(regions) + 3:
            logins.append((manager.username, str(Role.BRANCH_MANAGER.label), f"branch {p.code}"))
            logins.append((f"agent.{p.code}.1", str(Role.AGENT.label), f"branch {p.code}"))
    for code, name, _, moments in CYCLES:
        cycle = ServiceCycle.objects.create(code=code, name=name)
        Moment.objects.bulk_create(
            Moment(cycle=cycle, position=i, name=m, is_critical=critical)
            for i, (m, critical) in enumerate(moments, start=1)
        )
    staff_count = User.objects.count()
    return branches, agents, logins, staff_count


def _create_customers(
    profiles: Sequence[BranchProfile],
    branches: dict[str, Branch],
    count: int,
    rng: np.random.Generator,
    progress: Callable[[int], None],
) -> None:
    weights = np.array([p.weight for p in profiles])
    writer = _RowWriter(
        Customer._meta.db_table,
        [
            "name",
            "email",
            "phone",
            "preferred_channel",
            "home_branch_id",
            "consent_marketing",
            "consent_surveys",
            "tags",
            "notes",
            "source",
            "external_id",
            "created_at",
            "updated_at",
        ],
    )
    created = datetime.combine(date(2020, 1, 1), time(), tzinfo=UTC)
    branch_ids = [branches[p.code].pk for p in profiles]
    for start, size in _chunks(count, 20_000):
        homes = rng.choice(len(profiles), size=size, p=weights / weights.sum())
        firsts = rng.integers(0, len(FIRST_NAMES), size)
        lasts = rng.integers(0, len(LAST_NAMES), size)
        prefs = rng.choice(4, size=size, p=[0.4, 0.3, 0.2, 0.1])
        consent = rng.random((size, 2)) < [0.35, 0.6]
        rows = []
        for i, (home, first, last, pref, (marketing, surveys)) in enumerate(
            zip(
                homes.tolist(),
                firsts.tolist(),
                lasts.tolist(),
                prefs.tolist(),
                consent.tolist(),
                strict=True,
            )
        ):
            number = start + i + 1
            first_name, last_name = FIRST_NAMES[first], LAST_NAMES[last]
            rows.append(
                (
                    f"{first_name} {last_name}",
                    f"{first_name}.{last_name}.{number}@example.com".lower(),
                    f"+4470{number:08d}",
                    str(CHANNELS[pref]),
                    branch_ids[home],
                    marketing,
                    surveys,
                    "[]",
                    "",
                    "",
                    "",
                    created,
                    created,
                )
            )
        writer.write(rows)
        progress(size)


def _customer_pools(branches: dict[str, Branch]) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Customer ids by home branch (ordered, so draws are reproducible) and all of them."""
    pools: dict[int, list[int]] = {b.pk: [] for b in branches.values()}
    everyone: list[int] = []
    for customer_id, home in (
        Customer.objects.order_by("pk").values_list("pk", "home_branch_id").iterator(20_000)
    ):
        everyone.append(customer_id)
        if home is not None:
            pools[home].append(customer_id)
    return {k: np.array(v, dtype=np.int64) for k, v in pools.items()}, np.array(
        everyone, dtype=np.int64
    )


INTERACTION_COLUMNS = [
    "customer_id",
    "branch_id",
    "staff_id",
    "channel",
    "direction",
    "occurred_at",
    "wait_seconds",
    "handle_seconds",
    "outcome",
    "topic",
    "is_complaint",
    "notes",
    "moment_id",
    "csat",
    "nps",
    "feedback_comment",
    "source",
    "external_id",
    "created_at",
    "updated_at",
]


@dataclass(frozen=True)
class _Cell:
    profile: BranchProfile
    branch_id: int
    week_index: int
    week_start: date
    size: int


def _draw_cell(
    cell: _Cell,
    rng: np.random.Generator,
    weeks: int,
    agents: list[int],
    pools: tuple[dict[int, np.ndarray], np.ndarray],
    moments: dict[str, list[tuple[int, bool]]],
    sequence: int,
) -> list[tuple[Any, ...]]:
    """All interactions of one branch in one week, drawn as vectors then zipped into rows."""
    p, n = cell.profile, cell.size
    wait_factor, resolve_p, sat_shift = p.params_for_week(cell.week_index, weeks)
    channel = rng.choice(4, size=n, p=p.channel_mix)
    threshold = np.array([THRESHOLDS[c] for c in CHANNELS], dtype=float)[channel]
    factor = np.where(channel == 1, wait_factor * p.phone_wait_factor, wait_factor)
    median = threshold / WAIT_MEDIAN_FACTOR * factor
    wait = np.maximum(1, np.round(median * np.exp(rng.normal(0, WAIT_SIGMA, n)))).astype(int)
    late = wait > threshold
    abandon_p = np.where(channel == 2, 0.0, 0.025 + 0.12 * (wait > 2 * threshold))
    abandoned = rng.random(n) < abandon_p
    resolved = ~abandoned & (rng.random(n) < resolve_p - 0.05 * late)
    escalated = ~abandoned & ~resolved & (rng.random(n) < 0.35)
    outcome = np.select(
        [abandoned, resolved, escalated],
        [3, 0, 2],
        default=1,
    )
    complaint_p = p.complaint_p * (1 + late) * (1 + ~resolved)
    complaint = ~abandoned & (rng.random(n) < complaint_p)
    handle_median = np.array([420, 240, 600, 360], dtype=float)[channel]
    handle = np.round(handle_median * np.exp(rng.normal(0, 0.5, n))).astype(int)
    # Satisfaction falls with late answers, complaints and unresolved contacts.
    sat_p = np.clip(
        0.93 + sat_shift - 0.15 * late - 0.35 * complaint - 0.12 * ~resolved, 0.02, 0.99
    )
    satisfied = rng.random(n) < sat_p
    has_csat = ~abandoned & (rng.random(n) < 0.32)
    has_nps = ~abandoned & (rng.random(n) < 0.22)
    csat = np.where(satisfied, rng.choice([4, 5], n, p=[0.4, 0.6]), rng.choice([1, 2, 3], n))
    nps_satisfied = rng.choice(11, n, p=[0.005] * 7 + [0.1, 0.165, 0.35, 0.35])
    nps_unhappy = rng.choice(
        11, n, p=[0.05, 0.05, 0.08, 0.1, 0.12, 0.14, 0.16, 0.14, 0.1, 0.03, 0.03]
    )
    nps = np.where(satisfied, nps_satisfied, nps_unhappy)
    # Days: branches close on Sunday; e-mail arrives every day.
    day = np.where(
        channel == 2,
        rng.integers(0, 7, n),
        rng.choice(6, n, p=[0.2, 0.18, 0.17, 0.17, 0.18, 0.1]),
    )
    opening = np.where(channel == 2, 7 * 3600, 9 * 3600)
    span = np.where(channel == 2, 15 * 3600, 8 * 3600 + 1800)
    seconds = opening + (rng.random(n) * span).astype(int)
    outbound = rng.random(n) < np.where(channel == 2, 0.2, np.where(channel == 1, 0.1, 0.0))
    topic = rng.integers(0, len(TOPICS), n)
    staff = np.array(agents)[rng.integers(0, len(agents), n)]
    home_pool, everyone = pools[0].get(cell.branch_id, np.array([])), pools[1]
    who = rng.random(n)
    customer: list[int | None] = [
        None
        if (w < 0.05 and ch == 0) or len(everyone) == 0
        else int(home_pool[h % len(home_pool)])
        if w < 0.85 and len(home_pool)
        else int(everyone[e % len(everyone)])
        for w, ch, h, e in zip(
            who.tolist(),
            channel.tolist(),
            rng.integers(0, 2**31, n).tolist(),
            rng.integers(0, 2**31, n).tolist(),
            strict=True,
        )
    ]
    moment_draw = rng.random(n)
    moment_pick = rng.integers(0, 1000, n)
    tz = ZoneInfo(p.timezone)
    midnights = []
    for d in range(7):
        local_day = cell.week_start + timedelta(days=d)
        noon = datetime.combine(local_day, time(12), tzinfo=tz)
        offset = noon.utcoffset() or timedelta()
        midnights.append(datetime.combine(local_day, time(), tzinfo=UTC) - offset)

    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        ch = int(channel[i])
        occurred = midnights[int(day[i])] + timedelta(seconds=int(seconds[i]))
        is_abandoned = bool(abandoned[i])
        moment_id = None
        cycle = "cash-cheque" if ch == 0 else "phone-enquiry" if ch == 1 else ""
        if cycle and moment_draw[i] < 0.6:
            options = moments[cycle]
            if complaint[i]:  # complaints cluster on critical moments
                critical = [m for m, is_critical in options if is_critical]
                moment_id = (
                    critical[-1]
                    if p.planted == "high_complaints" and ch == 0
                    else critical[int(moment_pick[i]) % len(critical)]
                )
            else:
                moment_id = options[int(moment_pick[i]) % len(options)][0]
        handle_s = None if is_abandoned else int(handle[i])
        finished = occurred + timedelta(seconds=int(wait[i]) + (handle_s or 0))
        external = "" if ch != 1 or i % 3 else f"cc-{sequence + i}"
        rows.append(
            (
                customer[i],
                cell.branch_id,
                int(staff[i]),
                str(CHANNELS[ch]),
                str(Direction.OUTBOUND if outbound[i] else Direction.INBOUND),
                occurred,
                int(wait[i]),
                handle_s,
                str(_OUTCOMES[int(outcome[i])]),
                TOPICS[int(topic[i])],
                bool(complaint[i]),
                "",
                moment_id,
                int(csat[i]) if has_csat[i] else None,
                int(nps[i]) if has_nps[i] else None,
                "",
                "callcentre" if external else "",
                external,
                finished,
                finished,
            )
        )
    return rows


_OUTCOMES = [Outcome.RESOLVED, Outcome.FOLLOW_UP, Outcome.ESCALATED, Outcome.ABANDONED]


def _create_interactions(
    options: DemoOptions,
    profiles: Sequence[BranchProfile],
    branches: dict[str, Branch],
    agents: dict[str, list[int]],
    rng: np.random.Generator,
    progress: Callable[[int], None],
) -> dict[str, int]:
    end = options.end_date()
    start = end - timedelta(weeks=options.weeks)
    # Volume grows a little over the period, so recent weeks carry a bit more evidence.
    week_factor = np.linspace(0.9, 1.1, options.weeks)
    weights = np.outer([p.weight for p in profiles], week_factor).ravel()
    sizes = rng.multinomial(options.interactions, weights / weights.sum())
    pools = _customer_pools(branches)
    moments: dict[str, list[tuple[int, bool]]] = {}
    for moment in Moment.objects.select_related("cycle").order_by("cycle__code", "position"):
        moments.setdefault(moment.cycle.code, []).append((moment.pk, moment.is_critical))
    # PostgreSQL: every month of the history gets its partition before the rows arrive.
    partitions_ensure(since=start - timedelta(days=1))
    writer = _RowWriter(Interaction._meta.db_table, INTERACTION_COLUMNS)
    counts: dict[str, int] = {}
    sequence = 0
    for index, size in enumerate(sizes.tolist()):
        profile = profiles[index // options.weeks]
        week = index % options.weeks
        cell = _Cell(profile, branches[profile.code].pk, week, start + timedelta(weeks=week), size)
        for _, part in _chunks(size, 20_000):
            sub = _Cell(cell.profile, cell.branch_id, week, cell.week_start, part)
            writer.write(
                _draw_cell(sub, rng, options.weeks, agents[profile.code], pools, moments, sequence)
            )
            sequence += part
            progress(part)
        counts[profile.code] = counts.get(profile.code, 0) + size
    return counts


def demo_is_loaded() -> bool:
    return Branch.objects.exists()


def demo_reset() -> None:
    """Remove the domain data (not migrations' rows), quickly even at millions of rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (Interaction, Customer):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")  # noqa: S608
        User.objects.all().delete()
        Moment.objects.all().delete()
        ServiceCycle.objects.all().delete()
        Branch.objects.all().delete()
        Region.objects.all().delete()


def demo_seed(
    *,
    options: DemoOptions,
    truth_file: Path,
    progress_factory: Callable[[str, int], Callable[[int], None]],
) -> DemoResult:
    """Build the demo chain in one transaction and write its planted truth to ``truth_file``."""
    if options.branches < 5:
        raise ValueError("The demo needs at least 5 branches to plant its divergent ones.")
    if options.weeks < SLIDE_WEEKS + 2:
        raise ValueError(f"The demo needs at least {SLIDE_WEEKS + 2} weeks of history.")
    rng = np.random.default_rng(options.seed)
    profiles = demo_branch_profiles(options, rng)
    customer_count = max(50, min(options.interactions // 6, 500_000))
    with transaction.atomic():
        branches, agents, logins, staff_count = _create_structure(profiles)
        _create_customers(
            profiles, branches, customer_count, rng, progress_factory("customers", customer_count)
        )
        counts = _create_interactions(
            options,
            profiles,
            branches,
            agents,
            rng,
            progress_factory("interactions", options.interactions),
        )
    truth = _truth(options, profiles, counts)
    truth_file.parent.mkdir(parents=True, exist_ok=True)
    truth_file.write_text(json.dumps(truth, indent=2, default=str))
    return DemoResult(
        regions=Region.objects.count(),
        branches=len(branches),
        staff=staff_count,
        customers=customer_count,
        interactions=sum(counts.values()),
        logins=logins,
        truth=truth,
    )


def demo_logins() -> list[tuple[str, str, str]]:
    """A few documented logins of an existing demo chain (for `make run` on a seeded database)."""
    wanted = ["admin", *(f"rm.{code}" for code, _, _ in REGIONS)]
    users = list(User.objects.filter(username__in=wanted).order_by("username"))
    first_branch = Branch.objects.order_by("code").first()
    if first_branch is not None:
        users += list(
            User.objects.filter(
                username__in=[f"bm.{first_branch.code}", f"agent.{first_branch.code}.1"]
            )
        )
    return [(u.username, u.get_role_display(), "") for u in users]


__all__ = [
    "DEMO_PASSWORD",
    "DemoOptions",
    "demo_is_loaded",
    "demo_logins",
    "demo_reset",
    "demo_seed",
]
