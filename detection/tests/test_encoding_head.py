"""Gender and child heads on face encodings (#14 point 3): fitting, grouped cross-validation, reading faces.

No real model here: the encoder is a stand-in that turns pixels into a few numbers.
"""

import numpy as np
import pytest

from detection.inference.encoding_head import EncodingHeadAttributes, EncodingHeads, FaceFeatures, LogisticHead
from detection.inference.images import mirrored_around
from detection.inference.types import Detection
from detection.training.encoding_head import (
    FaceSample,
    auc,
    document_folds,
    fit_encoding_heads,
    fit_head,
    fit_logistic,
    head_scores,
)


class HalvesEncoder:
    """Encodes a face as the mean brightness of its left and of its right half: mirroring swaps them."""

    def encode(self, image, box):
        face = image[int(box.y1) : int(box.y2), int(box.x1) : int(box.x2)].astype(float)
        half = face.shape[1] // 2
        return np.array([face[:, :half].mean(), face[:, half:].mean()], dtype=np.float32)


def toy_samples(n_documents=8, faces=10, *, seed=0, signal=2.0):
    """Women and men in every document, apart along the first feature; the rest is noise."""
    rng = np.random.default_rng(seed)
    samples = []
    for document in range(n_documents):
        for face in range(faces):
            female = face % 3 == 0
            row = rng.normal(size=4)
            row[0] += signal if female else -signal
            mirrored = row + rng.normal(scale=0.1, size=4)
            samples.append(
                FaceSample(
                    rows=np.stack([row, mirrored]),
                    gender="female" if female else "male",
                    child=face % 4 == 0,
                    document=f"doc{document}",
                    width=40.0,
                )
            )
    return samples


def test_a_logistic_head_learns_a_separable_problem():
    x = np.array([[0.0, 1.0], [0.2, 0.8], [1.0, 0.1], [0.9, 0.0]])
    y = np.array([True, True, False, False])

    head = fit_logistic(x, y, c=10.0)

    assert auc(head.logit(x), y) == 1.0
    assert [head.probability(row[None]) > 0.5 for row in x] == [True, True, False, False]


def test_class_balanced_weights_keep_the_minority_class():
    # One woman in twenty: an unweighted fit would call everyone a man.
    rng = np.random.default_rng(1)
    samples = [
        FaceSample(np.stack([row, row]), "female" if i == 0 else "male", child=False, document="d", width=40)
        for i, row in enumerate(rng.normal(size=(20, 3)) + np.array([[3.0, 0, 0]] + [[0.0, 0, 0]] * 19))
    ]
    labels = np.array([s.gender == "female" for s in samples])

    head = fit_head(samples, labels, c=1.0)

    assert head_scores(head, samples)[0] > 0


def test_mirrored_encodings_are_training_rows():
    # The plain rows cannot tell women from men; only the mirrored ones can. A head fitted on plain rows
    # alone would be at chance.
    samples = [
        FaceSample(
            rows=np.array([[0.0, 0.0], [1.0 if female else -1.0, 0.0]]),
            gender="female" if female else "male",
            child=False,
            document=f"d{i}",
            width=40,
        )
        for i, female in enumerate([True, False] * 6)
    ]
    labels = np.array([s.gender == "female" for s in samples])

    head = fit_head(samples, labels, c=1.0)

    assert head is not None and auc(head_scores(head, samples), labels) == 1.0


def test_faces_below_the_training_width_teach_nothing():
    samples = toy_samples(n_documents=2, faces=6)
    narrow = [FaceSample(s.rows, s.gender, s.child, s.document, width=12.0) for s in samples]

    assert fit_head(narrow, np.array([s.gender == "female" for s in narrow]), c=1.0, min_width=20) is None


def test_mirrored_features_read_the_face_flipped():
    # Left half dark, right half bright: the mirrored face is bright on the left.
    image = np.zeros((60, 80, 3), np.uint8)
    image[10:50, 40:60] = 200
    box = Detection(20, 10, 60, 50, 1.0)

    rows = FaceFeatures(["encoding"], encoder=HalvesEncoder()).of(image, box)

    assert rows[0].tolist() == [0.0, 200.0]
    assert rows[1].tolist() == [200.0, 0.0]
    crop, inside = mirrored_around(image, box, 0.5)
    assert (inside.width, inside.height) == (box.width, box.height)
    assert crop[int(inside.y1) + 5, int(inside.x1) + 5, 0] == 200


def test_document_folds_keep_every_document_on_one_side_and_spread_the_rare_class():
    documents = [f"doc{d}" for d in range(7) for _ in range(5)]
    labels = [d < 3 and i == 0 for d in range(7) for i in range(5)]

    folds = document_folds(documents, labels, folds=3)
    again = document_folds(list(reversed(documents)), list(reversed(labels)), folds=3)

    for document in set(documents):
        assert len({folds[i] for i, d in enumerate(documents) if d == document}) == 1
    assert {folds[i] for i, label in enumerate(labels) if label} == {0, 1, 2}
    by_document = {d: f for d, f in zip(documents, folds, strict=True)}
    assert by_document == {d: f for d, f in zip(reversed(documents), again, strict=True)}


def test_grouped_cross_validation_chooses_and_calibrates_the_gender_head():
    heads, choices = fit_encoding_heads(toy_samples(), folds=4)

    gender = choices["gender"]
    assert gender.folds == 4 and gender.documents == 8
    assert gender.auc > 0.95
    assert gender.c in gender.log_loss and gender.calibration[0] > 0
    assert heads.gender is not None and heads.report["gender"]["fitted"]


def test_a_head_that_learned_only_the_documents_is_not_kept():
    # Children are a whole document each (a class photograph), and each document has its own look: out of
    # fold, the head ranks the held-out documents backwards, so no child head is kept.
    rng = np.random.default_rng(2)
    samples = []
    for document in range(6):
        look = rng.normal(scale=3.0, size=4)
        for _ in range(8):
            row = look + rng.normal(size=4)
            samples.append(
                FaceSample(np.stack([row, row]), "male", child=document < 2, document=f"d{document}", width=40)
            )

    heads, choices = fit_encoding_heads(samples, folds=3)

    assert "gender" not in choices and heads.gender is None
    assert choices["child"].auc < 0.7
    assert heads.child is None or choices["child"].calibration[0] > 0


def test_the_unknown_band_and_the_child_threshold():
    head = LogisticHead(mean=np.zeros(2), scale=np.ones(2), weights=np.array([1.0, 0.0]), bias=0.0)
    heads = EncodingHeads(features=("encoding",), gender=head, child=head, gender_threshold=0.6)

    def read(score, **options):
        model = EncodingHeadAttributes(heads=heads, encoder=HalvesEncoder(), **options)
        return model.read(np.array([[score, 0.0], [score, 0.0]]))

    assert read(0.2).gender == "unknown"  # P(female) 0.55
    assert read(0.2, gender_threshold=0.5).gender == "female"
    assert read(-1.0).gender == "male"
    assert read(1.0).child and not read(-1.0).child
    assert read(0.2).age is None


def test_heads_survive_a_round_trip_and_missing_features_count_as_the_mean(tmp_path):
    heads, _ = fit_encoding_heads(toy_samples(), folds=4, version="encoding-head@v3")
    loaded = EncodingHeads.load(heads.save(tmp_path / "head.json"))

    rows = np.array([[1.0, 0.5, -0.2, 0.3], [0.9, 0.4, -0.1, 0.2]])
    assert loaded.gender.probability(rows) == pytest.approx(heads.gender.probability(rows))
    assert loaded.version == "encoding-head@v3" and loaded.report["gender"]["c"] == heads.report["gender"]["c"]
    missing = rows.copy()
    missing[:, 0] = np.nan
    assert loaded.gender.probability(missing) == pytest.approx(
        loaded.gender.probability(np.where(np.isnan(missing), loaded.gender.mean, missing))
    )


def test_a_face_too_small_to_encode_is_unknown():
    class Blind:
        def encode(self, image, box):
            return None

    head = LogisticHead(mean=np.zeros(2), scale=np.ones(2), weights=np.array([5.0, 0.0]), bias=5.0)
    model = EncodingHeadAttributes(heads=EncodingHeads(("encoding",), head, None), encoder=Blind())

    estimate = model.predict(np.zeros((20, 20, 3), np.uint8), Detection(0, 0, 8, 8, 1.0))

    assert estimate.gender == "unknown" and not estimate.child
