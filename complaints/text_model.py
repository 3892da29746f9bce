"""The complaint-type model itself, apart from where its texts come from: TF-IDF over word
uni- and bigrams and over character 2- to 5-grams within words (which catch typos, slang and
affixes the stemmer missed), side by side, then a logistic regression over the types with
the classes weighted by their rarity, so a rare type is not drowned by the queue complaints.

Measured before it is kept: fitted on 80 % of the labels (stratified, fixed seed), scored
on the other 20 % (top-1, top-3, and the baseline of always naming the commonest type), then
fitted again on all of them. Deterministic: same texts, same model, same figures.

Pure: scikit-learn and numpy, no Django.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline
from threadpoolctl import threadpool_limits

from complaints.text import normalise

SEED = 18
HELD_OUT_SHARE = 0.2
TOP_K = 3
TRAINING_STEPS = 4  # normalise, fit on 80 %, measure, fit on all


@dataclass(frozen=True)
class Measured:
    """A model fitted on all the labels, and how well the same recipe did on held-out ones."""

    pipeline: Pipeline
    labels: int
    held_out: int
    types: list[str]
    top1: float
    top3: float
    baseline: float
    seconds: float
    # Top-1 on the held-out complaints of each type (its recall), for the curious.
    per_type_top1: dict[str, float]


# One BLAS thread: scipy's L-BFGS takes ten times longer with two threads on a busy
# two-core machine (4 s against 0.35 s for 1 200 complaints, measured), and gains nothing on
# models this small.
_THREADS = 1


def pipeline_build() -> Pipeline:
    """Words and character n-grams side by side, then a multinomial logistic regression
    (lbfgs over several classes is multinomial; ``multi_class`` is gone from scikit-learn).
    Texts come in normalised (``complaints.text.normalise``)."""
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        lowercase=False,
        sublinear_tf=True,
    )
    characters = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), lowercase=False, sublinear_tf=True, min_df=2
    )
    return Pipeline(
        [
            ("features", FeatureUnion([("words", words), ("characters", characters)])),
            (
                "model",
                LogisticRegression(
                    C=4.0, class_weight="balanced", max_iter=2000, random_state=SEED
                ),
            ),
        ]
    )


def top_k_hits(probabilities: np.ndarray, classes: np.ndarray, truth: Sequence[str], k: int) -> int:
    """How many of the true labels are among their row's ``k`` most probable classes."""
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return sum(label in set(classes[row]) for row, label in zip(best, truth, strict=True))


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    progress: Callable[[int], object] | None = None,
) -> Measured:
    """Measure the recipe on a held-out fifth, then fit it on everything. Every label needs
    at least two texts (the split is stratified); callers keep to far more. ``progress`` is
    told of each of the ``TRAINING_STEPS`` steps as it ends."""
    with threadpool_limits(_THREADS):
        return _train(texts, labels, progress or (lambda n: None))


def _train(texts: Sequence[str], labels: Sequence[str], tick: Callable[[int], object]) -> Measured:
    started = time.perf_counter()
    prepared = [normalise(t) for t in texts]
    tick(1)
    fit_on, held, fit_labels, held_labels = train_test_split(
        prepared,
        list(labels),
        test_size=HELD_OUT_SHARE,
        random_state=SEED,
        stratify=list(labels),
    )
    trial = pipeline_build().fit(fit_on, fit_labels)
    tick(1)
    probabilities = trial.predict_proba(held)
    classes = trial.classes_
    top1 = top_k_hits(probabilities, classes, held_labels, 1)
    top3 = top_k_hits(probabilities, classes, held_labels, TOP_K)
    commonest = Counter(fit_labels).most_common(1)[0][0]
    baseline = sum(label == commonest for label in held_labels)
    guessed = classes[np.argmax(probabilities, axis=1)]
    per_type = {
        code: float(
            np.mean([g == code for g, t in zip(guessed, held_labels, strict=True) if t == code])
        )
        for code in sorted(set(held_labels))
    }
    tick(1)
    final = pipeline_build().fit(prepared, list(labels))
    tick(1)
    n = len(held_labels)
    return Measured(
        pipeline=final,
        labels=len(prepared),
        held_out=n,
        types=[str(c) for c in final.classes_],
        top1=top1 / n,
        top3=top3 / n,
        baseline=baseline / n,
        seconds=time.perf_counter() - started,
        per_type_top1=per_type,
    )


def rank(pipeline: Pipeline, text: str) -> list[tuple[str, float]]:
    """Every type the model knows with its probability for this text, most probable first
    (ties in the model's order of classes)."""
    probabilities = pipeline.predict_proba([normalise(text)])[0]
    order = np.argsort(-probabilities, kind="stable")
    return [(str(pipeline.classes_[i]), float(probabilities[i])) for i in order]


def dump(pipeline: Pipeline) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getvalue()


def load(data: bytes) -> Pipeline:
    """Only ever our own bytes, written by ``dump`` from our own trainer (never a user's
    upload): unpickling runs code, so nothing else may come through here."""
    return joblib.load(io.BytesIO(data))
