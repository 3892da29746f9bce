"""A complaint's type suggested from its text (SPEC §10), learnt offline from the chain's own
labelled complaints; staff see the top three and confirm.

The label of a complaint is its type's *code*: when HQ retires a type and makes a new one
with the same code, their complaints teach the same class; a code that no live type has
any more is still learnt (its texts are evidence against the other types) but never
suggested. Types with fewer than ``MIN_PER_TYPE`` labels are left out of the model until
they have more, and said so in the report.

The text and the model are in ``complaints.text`` and ``complaints.text_model`` (pure); this
module reads the labels, keeps each training as a ``ClassifierVersion`` and answers with live
types. Nothing is downloaded: the stemmer's dictionary ships in its package.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from sklearn.pipeline import Pipeline

from common.queueing import enqueue
from complaints import text_model
from complaints.models import ClassifierVersion, Complaint, ComplaintEvent, ComplaintType

logger = logging.getLogger(__name__)

# Defaults; settings COMPLAINTS_CLASSIFIER_<NAME> override them.
MIN_LABELS = 40  # labelled complaints the model must learn from before it suggests anything
MIN_PER_TYPE = 5  # labels a type needs to be in the model
RETRAIN_AFTER = 50  # new labels since the newest version before Celery trains again

# What crm.privacy leaves of an erased customer's words (that app sits above this one).
ERASED = "[erased]"

# Steps ``classifier_train`` reports to ``progress``: reading, the model's own, saving.
TRAINING_STEPS = text_model.TRAINING_STEPS + 2


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, f"COMPLAINTS_CLASSIFIER_{name}", default))


def min_labels() -> int:
    return _setting("MIN_LABELS", MIN_LABELS)


def min_per_type() -> int:
    return _setting("MIN_PER_TYPE", MIN_PER_TYPE)


def retrain_after() -> int:
    return _setting("RETRAIN_AFTER", RETRAIN_AFTER)


class TooFewLabels(ValidationError):  # noqa: N818 - a refusal people read, not a fault
    """Not enough labelled complaints to learn from (or to tell two types apart)."""


@dataclass(frozen=True)
class TrainingReport:
    version: int
    labels: int
    held_out: int
    types: list[str]
    left_out: dict[str, int]  # type code → its labels, too few to be learnt
    top1: float
    top3: float
    baseline: float
    train_seconds: float


@dataclass(frozen=True)
class Suggestion:
    type: ComplaintType
    probability: float


def _labelled() -> QuerySet[Complaint]:
    return Complaint.objects.filter(type__isnull=False).exclude(text="").exclude(text=ERASED)


def classifier_train(*, progress: Callable[[int], object] | None = None) -> TrainingReport:
    """Learn the types from every labelled complaint, measure on a held-out fifth, keep the
    result as the next version. Raises ``TooFewLabels`` rather than keep a model that
    would guess."""
    tick = progress or (lambda n: None)
    read_at = timezone.now()  # labels given from now on count towards the next training
    rows = list(_labelled().values_list("type__code", "text"))
    counts = Counter(code for code, _text in rows)
    kept = {code for code, n in counts.items() if n >= min_per_type()}
    left_out = {code: n for code, n in sorted(counts.items()) if code not in kept}
    rows = [(code, text) for code, text in rows if code in kept]
    if len(rows) < min_labels():
        raise TooFewLabels(
            _(
                "Too few labelled complaints to learn from: %(n)s of types with at least "
                "%(per_type)s each, %(min)s needed. Confirm the type of more complaints first."
            )
            % {"n": len(rows), "per_type": min_per_type(), "min": min_labels()}
        )
    if len(kept) < 2:
        raise TooFewLabels(
            _(
                "Only %(n)s type has at least %(per_type)s labelled complaints; the classifier "
                "needs two or more to tell apart."
            )
            % {"n": len(kept), "per_type": min_per_type()}
        )
    tick(1)
    measured = text_model.train(
        [text for _code, text in rows], [code for code, _text in rows], progress=tick
    )
    row = _save(measured, left_out, read_at)
    tick(1)
    report = TrainingReport(
        version=row.version,
        labels=row.labels,
        held_out=row.held_out,
        types=list(row.types),
        left_out=dict(row.left_out),
        top1=row.top1,
        top3=row.top3,
        baseline=row.baseline,
        train_seconds=row.train_seconds,
    )
    logger.info(
        "Complaint classifier v%s: %s labels, %s held out, top-1 %.3f, top-3 %.3f, "
        "baseline %.3f, %.1f s",
        report.version,
        report.labels,
        report.held_out,
        report.top1,
        report.top3,
        report.baseline,
        report.train_seconds,
    )
    return report


def _save(
    measured: text_model.Measured, left_out: dict[str, int], read_at: datetime
) -> ClassifierVersion:
    model = text_model.dump(measured.pipeline)
    attempts = 3  # two trainings finishing at once: the second takes the next number
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                last = ClassifierVersion.objects.aggregate(last=Max("version"))["last"] or 0
                return ClassifierVersion.objects.create(
                    version=last + 1,
                    trained_at=read_at,
                    labels=measured.labels,
                    held_out=measured.held_out,
                    types=measured.types,
                    left_out=left_out,
                    top1=measured.top1,
                    top3=measured.top3,
                    baseline=measured.baseline,
                    train_seconds=measured.seconds,
                    model=model,
                )
        except IntegrityError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# The newest version's unpickled model in this process, by version and training time (a
# version number alone could come back if its row were deleted and the next one trained).
_loaded: dict[tuple[int, datetime], Pipeline] = {}


def _model(version: int, trained_at: datetime) -> Pipeline:
    key = (version, trained_at)
    pipeline = _loaded.get(key)
    if pipeline is None:
        data = ClassifierVersion.objects.values_list("model", flat=True).get(version=version)
        pipeline = text_model.load(bytes(data))
        _loaded.clear()
        _loaded[key] = pipeline
    return pipeline


def suggest(text: str, k: int = text_model.TOP_K) -> list[Suggestion]:
    """The ``k`` live types the newest model finds likeliest for this text, most likely
    first. Nothing when there is no model, when the newest learnt from fewer than
    ``MIN_LABELS`` labels (the setting may have been raised since), or when there is no
    text; a code no live type has any more is passed over."""
    if not text.strip():
        return []
    newest = ClassifierVersion.objects.order_by("-version").values_list(
        "version", "trained_at", "labels"
    )
    found = newest.first()
    if found is None or found[2] < min_labels():
        return []
    version, trained_at, _labels = found
    ranked = text_model.rank(_model(version, trained_at), text)
    live = {
        t.code: t
        for t in ComplaintType.objects.filter(
            code__in=[code for code, _p in ranked], retired_at__isnull=True
        ).select_related("area")
    }
    return [Suggestion(live[code], p) for code, p in ranked if code in live][:k]


def labels_since_last() -> int:
    """Labelled complaints recorded with their type, or typed, since the newest version
    read its labels (all of them while there is none)."""
    newest = ClassifierVersion.objects.order_by("-version").values_list("trained_at", flat=True)
    since = newest.first()
    if since is None:
        return _labelled().count()
    typed = ComplaintEvent.objects.filter(action="typed", at__gt=since).values("complaint_id")
    return _labelled().filter(Q(created_at__gt=since) | Q(pk__in=typed)).count()


def classifier_retrain_due() -> dict[str, object]:
    """Train when enough new labels have come in since the newest version (or, with none,
    when there are enough to start); a short account of what happened either way."""
    new = labels_since_last()
    first = not ClassifierVersion.objects.exists()
    if new < (min_labels() if first else retrain_after()):
        return {"trained": False, "new_labels": new}
    try:
        report = classifier_train()
    except TooFewLabels as refusal:
        logger.info("Complaint classifier not trained: %s", refusal.messages[0])
        return {"trained": False, "new_labels": new, "reason": refusal.messages[0]}
    return {
        "trained": True,
        "new_labels": new,
        "version": report.version,
        "labels": report.labels,
        "top1": round(report.top1, 3),
        "top3": round(report.top3, 3),
        "baseline": round(report.baseline, 3),
        "seconds": round(report.train_seconds, 1),
    }


RETRAIN_TASK = "complaints.classifier_retrain"


def classifier_forget() -> int:
    """Drop every stored model (an erasure took texts they learnt from: their vocabulary
    holds the customer's words) and have a new one trained from what is left, after the
    commit. Suggestions stop until then. Returns how many versions were dropped."""
    dropped, _ = ClassifierVersion.objects.all().delete()
    if dropped:
        transaction.on_commit(lambda: enqueue(RETRAIN_TASK), robust=True)
    return dropped
