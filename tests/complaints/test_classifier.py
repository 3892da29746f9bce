"""A complaint's type suggested from its text: the text normalised (slang written out,
Indonesian stemmed, English left alone), a model learnt from the chain's labelled complaints
and measured on ones it was not shown, kept with its version; the top three live types
suggested; no training on too few labels and no suggestion from a model that had too few;
Celery trains again only once enough new labels came in."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import numpy as np
import pytest
from celery import current_app
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from complaints.classifier import (
    TooFewLabels,
    classifier_train,
    labels_since_last,
    suggest,
)
from complaints.demo_texts import INDONESIAN_SHARE, TYPE_WEIGHTS, complaint_text
from complaints.models import ClassifierVersion, Complaint, ComplaintType
from complaints.services import complaint_record, complaint_type_set, reference_of
from complaints.tasks import classifier_retrain
from complaints.taxonomy import STARTER, taxonomy_seed
from complaints.text import normalise, tokens
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import InteractionFactory

RECEIVED = datetime(2026, 11, 3, 9, tzinfo=UTC)
QUEUE_TEXT = "Sy udh antri 2 jam gk dipanggil2, lama bgt!!!"


def live_types() -> dict[str, ComplaintType]:
    return {t.code: t for t in ComplaintType.objects.filter(retired_at__isnull=True)}


def labelled(
    chain: Chain, n: int, *, seed: int = 18, only: list[str] | None = None
) -> Counter[str]:
    """``n`` complaints with the demo's texts and their types given, at the chain's type
    frequencies (or evenly over ``only``); returns the count by type. Written in bulk: the
    trainer reads only types and texts, and 200 ``complaint_record`` calls take seconds."""
    taxonomy_seed()
    types = live_types()
    rng = np.random.default_rng(seed)
    codes = only or list(TYPE_WEIGHTS)
    weights = np.array([1.0 if only else TYPE_WEIGHTS[c] for c in codes])
    drawn = [codes[i] for i in rng.choice(len(codes), size=n, p=weights / weights.sum())]
    calls = Interaction.objects.bulk_create(
        InteractionFactory.build(
            branch=chain.north_a, customer=None, is_complaint=True, occurred_at=RECEIVED
        )
        for _ in drawn
    )
    Complaint.objects.bulk_create(
        Complaint(
            reference=reference_of(call),
            interaction=call,
            branch=chain.north_a,
            received_at=RECEIVED,
            type=types[code],
            text=complaint_text(code, rng)[0],
            acknowledge_due=RECEIVED,
            respond_due=RECEIVED,
        )
        for call, code in zip(calls, drawn, strict=True)
    )
    return Counter(drawn)


# The text


def test_chat_slang_is_written_out_and_indonesian_is_stemmed() -> None:
    assert tokens("Sy udh nunggu lama bgt, gk dipanggil2!!!") == [
        "saya", "sudah", "tunggu", "lama", "banget", "tidak", "dipanggil", "dipanggil",
    ]  # fmt: skip
    assert normalise("menunggu") == "tunggu"
    assert normalise("Petugasnya TIDAK ramah, pelayanan lamaaa") == "tugas tidak ramah layan lama"
    assert normalise("antriannya") == normalise("antrean") == "antre"
    assert normalise("Rp 50.000 kurang, tdk sesuai dgn slip") == (
        "rp num kurang tidak sesuai dengan slip"
    )


def test_english_goes_through_the_stemmer_unchanged() -> None:
    text = (
        "I waited in the queue for an hour, the teller was rude, my card was blocked and "
        "the transfer failed; nobody answered the phone and I was charged an unexpected fee"
    )
    assert normalise(text) == " ".join(tokens(text))
    assert normalise("I can't log in, pls help") == "i cannot log in please help"


def test_the_demo_texts_cover_every_starter_type_in_both_languages() -> None:
    codes = [code for _area, _en, _id, types in STARTER for code, *_rest in types]
    assert set(codes) == set(TYPE_WEIGHTS)
    rng = np.random.default_rng(7)
    languages = Counter(complaint_text(code, rng)[1] for code in codes for _ in range(60))
    assert set(languages) == {"id", "en"}
    assert languages["id"] / languages.total() == pytest.approx(INDONESIAN_SHARE, abs=0.06)
    again = np.random.default_rng(7)
    assert complaint_text("queue-too-long", again) == complaint_text(
        "queue-too-long", np.random.default_rng(7)
    )


# Training


def test_training_measures_on_held_out_complaints_and_keeps_a_version(chain: Chain) -> None:
    drawn = labelled(chain, 200)
    out = StringIO()
    call_command("complaints_train", stdout=out, stderr=StringIO())
    row = ClassifierVersion.objects.get()
    rare = {code: n for code, n in drawn.items() if n < 5}
    assert row.version == 1
    assert row.labels == 200 - sum(rare.values())
    assert row.left_out == rare
    assert set(row.types) == set(drawn) - set(rare)
    assert row.held_out == pytest.approx(0.2 * row.labels, abs=1)
    assert 0 < row.baseline < row.top1 <= row.top3 <= 1
    assert row.top1 > row.baseline + 0.3  # well above always naming the queue
    assert row.train_seconds > 0
    assert f"v1: {row.labels} labelled complaints" in out.getvalue()
    assert f"top-1 {row.top1:.1%}, top-3 {row.top3:.1%}" in out.getvalue()
    assert ("Left out, too few labels yet" in out.getvalue()) == bool(rare)

    again = classifier_train()  # same labels, same model, the next number
    assert (again.version, again.top1, again.top3, again.baseline) == (
        2,
        row.top1,
        row.top3,
        row.baseline,
    )


def test_suggestions_are_the_three_likeliest_live_types(chain: Chain) -> None:
    labelled(chain, 200)
    classifier_train()
    suggestions = suggest(QUEUE_TEXT)
    assert len(suggestions) == 3
    assert suggestions[0].type.code == "queue-too-long"
    assert all(s.type.retired_at is None for s in suggestions)
    probabilities = [s.probability for s in suggestions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) <= 1 + 1e-9
    assert suggest("The teller gave me 50k less than I withdrew")[0].type.code == "wrong-amount"
    assert suggest("   ") == []
    assert len(suggest(QUEUE_TEXT, k=1)) == 1


def test_no_training_on_too_few_labels(chain: Chain) -> None:
    labelled(chain, 12)
    refusal = r"Too few labelled complaints to learn from: \d+ of types with at least 5 each, 40"
    with pytest.raises(CommandError, match=refusal):
        call_command("complaints_train", verbosity=0)
    assert not ClassifierVersion.objects.exists()


def test_no_training_on_a_single_type(chain: Chain, settings: Any) -> None:
    settings.COMPLAINTS_CLASSIFIER_MIN_LABELS = 10
    labelled(chain, 12, only=["queue-too-long"])
    with pytest.raises(TooFewLabels) as refusal:
        classifier_train()
    assert "Only 1 type has at least 5 labelled complaints" in refusal.value.messages[0]


def test_no_suggestion_without_a_model_or_from_one_that_had_too_few_labels(
    chain: Chain, settings: Any
) -> None:
    labelled(chain, 60)
    assert suggest(QUEUE_TEXT) == []  # nothing trained yet
    classifier_train()
    assert len(suggest(QUEUE_TEXT)) == 3
    settings.COMPLAINTS_CLASSIFIER_MIN_LABELS = 100
    assert suggest(QUEUE_TEXT) == []
    # The newest counts: an older, bigger model does not stand in for it.
    settings.COMPLAINTS_CLASSIFIER_MIN_LABELS = 40
    newest = ClassifierVersion.objects.get()
    ClassifierVersion.objects.create(
        version=2,
        labels=20,
        held_out=4,
        types=newest.types,
        top1=0.5,
        top3=0.8,
        baseline=0.3,
        train_seconds=0.1,
        model=newest.model,
    )
    assert suggest(QUEUE_TEXT) == []


def test_a_code_no_live_type_has_is_not_suggested(chain: Chain) -> None:
    labelled(chain, 200)
    classifier_train()
    queue = ComplaintType.objects.get(code="queue-too-long")
    queue.retired_at = timezone.now()
    queue.save()
    codes = [s.type.code for s in suggest(QUEUE_TEXT)]
    assert len(codes) == 3
    assert "queue-too-long" not in codes
    # A new type under the old code takes its place (and its labels, at the next training).
    renamed = ComplaintType.objects.create(
        area=queue.area, code="queue-too-long", name_en="Waited too long", replaces=queue
    )
    assert suggest(QUEUE_TEXT)[0].type == renamed


# Retraining


def test_celery_trains_again_only_once_enough_new_labels_came_in(
    chain: Chain, settings: Any
) -> None:
    settings.COMPLAINTS_CLASSIFIER_RETRAIN_AFTER = 6
    labelled(chain, 30, seed=1)
    assert classifier_retrain() == {"trained": False, "new_labels": 30}  # 40 to start
    labelled(chain, 30, seed=2)
    first = classifier_retrain()
    assert first["trained"] is True
    assert first["version"] == 1
    assert first["labels"] == 60 - sum(ClassifierVersion.objects.get().left_out.values())
    assert labels_since_last() == 0
    assert classifier_retrain() == {"trained": False, "new_labels": 0}

    labelled(chain, 4, seed=3)
    # A complaint recorded without a type and typed later counts too; one typed at
    # recording counts once, whatever happens to it afterwards.
    untyped = complaint_record(
        actor=chain.agent,
        interaction=InteractionFactory.create(branch=chain.north_a, occurred_at=RECEIVED),
        text="Kartu ATM sy ketelen di mesin",
    )
    assert labels_since_last() == 4
    complaint_type_set(
        actor=chain.agent, complaint=untyped, complaint_type=live_types()["card-blocked"]
    )
    assert labels_since_last() == 5
    assert classifier_retrain() == {"trained": False, "new_labels": 5}
    labelled(chain, 1, seed=4)
    second = classifier_retrain()
    assert (second["trained"], second["version"], second["new_labels"]) == (True, 2, 6)
    assert list(ClassifierVersion.objects.values_list("version", flat=True)) == [2, 1]


def test_beat_asks_every_night() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["complaint-classifier"]
    assert entry["task"] == "complaints.classifier_retrain"
    assert entry["task"] in current_app.tasks
    assert isinstance(entry["schedule"], crontab)


def test_erasing_a_complainant_drops_the_models_and_asks_for_a_new_one(
    chain: Chain, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from crm.privacy import customer_erase
    from tests.factories import CustomerFactory

    labelled(chain, 200)
    classifier_train()
    customer = CustomerFactory.create()
    call = InteractionFactory.create(branch=chain.north_a, customer=customer, is_complaint=True)
    complaint_record(actor=chain.admin, interaction=call, text="Ani Wijaya: uang kurang 50rb")
    queued: list[str] = []
    monkeypatch.setattr("complaints.classifier.enqueue", lambda task: queued.append(task))
    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(actor=chain.admin, customer=customer)
    assert not ClassifierVersion.objects.exists()  # the customer's words are gone with them
    assert not suggest(QUEUE_TEXT)
    assert queued == ["complaints.classifier_retrain"]
