"""How well the complaint-type classifier types a chain's complaints, and how long it learns.

Usage:

    .venv/bin/python benchmarks/classifier_accuracy.py [--complaints 1200] [--seed 2026]

Draws ``--complaints`` labelled complaints with the demo's generator
(``complaints.demo_texts``: all twelve starter types at a chain's frequencies, two in three
in Indonesian, with slang, typos and complaints about two things at once), then trains as
``manage.py complaints_train`` does: measured on a stratified held-out fifth, then fitted on
all. Prints top-1 and top-3 accuracy, the baseline of always naming the commonest type, the
recall of each type, the training time, the stored model's size and how long one suggestion
takes. Pure: no database.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from complaints.demo_texts import demo_complaint_texts  # noqa: E402
from complaints.text_model import dump, rank, train  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    rows = demo_complaint_texts(args.complaints, np.random.default_rng(args.seed))
    labels = [code for code, _text, _language in rows]
    languages = Counter(language for _code, _text, language in rows)
    print(
        f"{len(rows)} complaints, {languages['id']} Indonesian and {languages['en']} English; "
        "by type: " + ", ".join(f"{c} {n}" for c, n in Counter(labels).most_common())
    )
    measured = train([text for _code, text, _language in rows], labels)
    print(
        f"held out {measured.held_out}: top-1 {measured.top1:.1%}, top-3 {measured.top3:.1%}, "
        f"commonest type (baseline) {measured.baseline:.1%}"
    )
    print(
        "top-1 by type: "
        + ", ".join(f"{c} {v:.0%}" for c, v in sorted(measured.per_type_top1.items()))
    )
    size = len(dump(measured.pipeline))
    started = time.perf_counter()
    probe = rows[:200]
    for _code, text, _language in probe:
        rank(measured.pipeline, text)
    per_suggestion = (time.perf_counter() - started) / len(probe)
    print(
        f"training (measure on 80 %, then fit on all) {measured.seconds:.2f} s; "
        f"stored model {size / 1024:.0f} KiB; one suggestion {per_suggestion * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
