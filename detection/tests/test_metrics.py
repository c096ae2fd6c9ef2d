"""Detection and attribute metrics, checked against cases computed by hand."""

import pytest

from detection.inference.metrics import (
    AttributePair,
    attribute_confusion,
    attribute_metrics,
    average_precision,
    cohen_kappa,
    confusion_matrix,
    evaluate_detections,
    match,
    ratios,
    suggest_threshold,
    threshold_sweep,
)
from detection.inference.types import Detection


def box(x, y, w, h, score=1.0):
    return Detection.from_xywh(x, y, w, h, score)


FACE_A = box(0, 0, 100, 100)
FACE_B = box(200, 0, 100, 100)
# Overlaps FACE_A with IoU 80*100 / (100*100 + 100*100 - 80*100) = 8000 / 12000 = 0.667.
SHIFTED_A = box(20, 0, 100, 100)


def test_a_perfect_detector_scores_one_everywhere():
    report = evaluate_detections([([box(0, 0, 100, 100, 0.9), box(200, 0, 100, 100, 0.8)], [FACE_A, FACE_B])])

    assert (report.true_positives, report.false_positives, report.false_negatives) == (2, 0, 0)
    assert report.precision == report.recall == report.f1 == 1.0
    assert report.ap50 == pytest.approx(1.0)
    assert report.ap50_95 == pytest.approx(1.0)


def test_nothing_to_find_and_nothing_found_is_undefined_not_perfect():
    report = evaluate_detections([([], [])])

    assert report.truths == report.predictions == 0
    assert report.precision is None and report.recall is None and report.f1 is None
    assert report.ap50 is None and report.ap50_95 is None
    assert report.sweep == []


def test_missing_every_face_is_zero_recall_and_undefined_precision():
    report = evaluate_detections([([], [FACE_A, FACE_B])])

    assert report.false_negatives == 2
    assert report.precision is None
    assert report.recall == 0.0 and report.f1 == 0.0 and report.ap50 == 0.0


def test_boxes_on_a_page_without_faces_are_all_false_positives():
    report = evaluate_detections([([box(0, 0, 50, 50, 0.9)], [])])

    assert report.precision == 0.0 and report.recall is None and report.f1 == 0.0
    assert report.ap50 is None


def test_a_second_box_on_the_same_face_is_a_false_positive():
    report = evaluate_detections([([box(0, 0, 100, 100, 0.9), box(5, 5, 100, 100, 0.8)], [FACE_A])])

    assert (report.true_positives, report.false_positives) == (1, 1)
    assert report.precision == 0.5 and report.recall == 1.0
    # The duplicate ranks below the hit, so recall 1 is reached at precision 1.
    assert report.ap50 == pytest.approx(1.0)


def test_the_higher_score_takes_the_face_and_a_tie_keeps_input_order():
    low_but_tight, high_but_loose = box(0, 0, 100, 100, 0.6), box(20, 0, 100, 100, 0.9)
    assert match([low_but_tight, high_but_loose], [FACE_A]) == [None, 0]

    first, second = box(0, 0, 100, 100, 0.7), box(0, 0, 100, 100, 0.7)
    assert match([first, second], [FACE_A]) == [0, None]


def test_a_prediction_takes_the_truth_it_overlaps_most():
    near_a = box(20, 0, 100, 100)
    between = box(15, 0, 100, 100, 0.9)

    # between: IoU with A = 85/115 = 0.74, with near_a = 95/105 = 0.90; both pass 0.5.
    assert match([between], [FACE_A, near_a]) == [1]


def test_ap_of_hit_miss_hit_is_the_101_point_coco_value():
    # Two faces; ranked boxes are hit (0.9), miss (0.8), hit (0.7).
    # Recall 0.5 at precision 1; recall 1 at precision 2/3. Envelope: 1 for r <= 0.5
    # (51 levels), 2/3 for r in 0.51..1 (50 levels): (51 + 50 * 2/3) / 101.
    predictions = [box(0, 0, 100, 100, 0.9), box(500, 500, 50, 50, 0.8), box(200, 0, 100, 100, 0.7)]
    report = evaluate_detections([(predictions, [FACE_A, FACE_B])])

    assert report.ap50 == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert report.precision == pytest.approx(2 / 3) and report.recall == 1.0


def test_ap_rewards_ranking_hits_above_misses():
    good = average_precision([0.9, 0.8, 0.1], [True, True, False], 2)
    bad = average_precision([0.9, 0.8, 0.1], [False, True, True], 2)

    assert good == pytest.approx(1.0)
    # miss, hit, hit: precision 1/2 at recall 0.5 and 2/3 at recall 1: the envelope is 2/3 throughout.
    assert bad == pytest.approx(2 / 3)


def test_ap_at_0_5_to_0_95_counts_a_loose_box_only_at_loose_thresholds():
    # IoU 0.667 matches at thresholds 0.50, 0.55, 0.60, 0.65 (4 of 10) only.
    report = evaluate_detections([([box(20, 0, 100, 100, 0.9)], [FACE_A])])

    assert report.ap50 == pytest.approx(1.0)
    assert report.ap50_95 == pytest.approx(0.4)


def test_matches_only_within_the_same_image():
    report = evaluate_detections([([box(0, 0, 100, 100, 0.9)], []), ([], [FACE_A])])

    assert (report.true_positives, report.false_positives, report.false_negatives) == (0, 1, 1)
    assert report.matches == [[], []]


def test_the_score_threshold_drops_weak_boxes_before_counting():
    predictions = [box(0, 0, 100, 100, 0.9), box(500, 500, 50, 50, 0.3)]
    report = evaluate_detections([(predictions, [FACE_A])], score_threshold=0.5)

    assert report.predictions == 1 and report.precision == 1.0


def test_the_sweep_gives_counts_at_each_distinct_score_and_groups_ties():
    sweep = threshold_sweep([0.9, 0.8, 0.8, 0.5], [True, False, True, False], 3)

    assert [(p.threshold, p.true_positives, p.false_positives, p.false_negatives) for p in sweep] == [
        (0.9, 1, 0, 2),
        (0.8, 2, 1, 1),
        (0.5, 2, 2, 1),
    ]
    assert sweep[1].precision == pytest.approx(2 / 3) and sweep[1].recall == pytest.approx(2 / 3)


def test_the_suggested_threshold_is_the_lowest_that_keeps_the_target_precision():
    sweep = threshold_sweep([0.95, 0.9, 0.7, 0.6, 0.4], [True, True, False, True, False], 4)
    # Precision by threshold: 0.95 → 1, 0.9 → 1, 0.7 → 2/3, 0.6 → 3/4, 0.4 → 3/5.

    assert suggest_threshold(sweep, 0.9).threshold == 0.9
    assert suggest_threshold(sweep, 0.7).threshold == 0.6
    assert suggest_threshold(sweep, 1.01) is None


def test_best_f1_picks_the_best_tradeoff():
    report = evaluate_detections(
        [([box(0, 0, 100, 100, 0.9), box(500, 500, 50, 50, 0.8), box(200, 0, 100, 100, 0.7)], [FACE_A, FACE_B])]
    )
    # F1 at 0.9: 2*1/(1+2) = 0.667; at 0.8: 2/(2+2) = 0.5; at 0.7: 4/(3+2) = 0.8.

    assert report.best_f1().threshold == 0.7
    assert report.best_f1().f1 == pytest.approx(0.8)


def test_size_buckets_split_truths_and_boxes_by_face_size():
    small_face, large_face = box(0, 0, 20, 20), box(100, 100, 200, 200)
    stray_medium = box(500, 500, 50, 50, 0.95)
    report = evaluate_detections([([box(100, 100, 200, 200, 0.9), stray_medium], [small_face, large_face])])
    by_name = {bucket.name: bucket for bucket in report.by_size}

    assert (by_name["small"].truths, by_name["small"].recall, by_name["small"].predictions) == (1, 0.0, 0)
    assert by_name["medium"].truths == 0 and by_name["medium"].precision == 0.0
    assert by_name["large"].recall == 1.0 and by_name["large"].ap50 == pytest.approx(1.0)


def test_ratios_handle_empty_denominators():
    assert ratios(0, 0, 0) == (None, None, None)
    assert ratios(3, 1, 0) == (0.75, 1.0, pytest.approx(6 / 7))


def test_attribute_metrics_on_matched_faces():
    report = attribute_metrics(
        [
            AttributePair("female", "female", 30.0, 34.0, False, False),
            AttributePair("female", "male", 8.0, 20.0, True, False),
            AttributePair("male", "unknown", None, 40.0, False, False),
            AttributePair("unknown", "male", 50.0, 50.0),
        ]
    )

    assert report.gender_faces == 3 and report.gender_accuracy == pytest.approx(1 / 3)
    assert report.age_faces == 3 and report.age_mae == pytest.approx((4 + 12 + 0) / 3)
    assert report.child_faces == 3 and report.child_accuracy == pytest.approx(2 / 3)


def test_attribute_metrics_without_faces_are_undefined():
    report = attribute_metrics([])

    assert report.gender_accuracy is None and report.age_mae is None and report.child_accuracy is None


def hand_made_pairs():
    """Ten matched faces: 4 curated female, 4 male, 2 unknown; child flags on eight."""
    return [
        AttributePair("female", "female", truth_child=False, predicted_child=False),
        AttributePair("female", "female", truth_child=True, predicted_child=True),
        AttributePair("female", "male", truth_child=False, predicted_child=False),
        AttributePair("female", "unknown", truth_child=True, predicted_child=False),
        AttributePair("male", "male", truth_child=False, predicted_child=False),
        AttributePair("male", "male", truth_child=False, predicted_child=True),
        AttributePair("male", "male", truth_child=False, predicted_child=False),
        AttributePair("male", "female", truth_child=True, predicted_child=True),
        AttributePair("unknown", "male"),
        AttributePair("unknown", "unknown"),
    ]


def test_the_gender_confusion_matrix_counts_curated_rows_against_predicted_columns():
    confusion = attribute_confusion(hand_made_pairs())

    assert confusion.gender.classes == ("female", "male", "unknown")
    assert confusion.gender.counts == [
        [2, 1, 1],
        [1, 3, 0],
        [0, 1, 1],
    ]
    by_label = {figures.label: figures for figures in confusion.gender.per_class}
    assert (by_label["female"].truths, by_label["female"].predictions, by_label["female"].correct) == (4, 3, 2)
    assert by_label["female"].recall == pytest.approx(2 / 4) and by_label["female"].precision == pytest.approx(2 / 3)
    assert by_label["male"].recall == pytest.approx(3 / 4) and by_label["male"].precision == pytest.approx(3 / 5)
    assert by_label["unknown"].recall == pytest.approx(1 / 2) and by_label["unknown"].precision == pytest.approx(1 / 2)


def test_labelled_as_the_other_sex_counts_swaps_not_unknowns():
    confusion = attribute_confusion(hand_made_pairs())

    assert confusion.other_sex_rate == {
        "female": pytest.approx(1 / 4),
        "male": pytest.approx(1 / 4),
        "overall": pytest.approx(2 / 8),
    }


def test_the_child_confusion_matrix_uses_faces_with_both_flags():
    confusion = attribute_confusion(hand_made_pairs())

    assert confusion.child.classes == ("adult", "child")
    assert confusion.child.counts == [[4, 1], [1, 2]]
    child = confusion.child.per_class[1]
    assert (child.truths, child.predictions, child.correct) == (3, 3, 2)
    assert child.recall == pytest.approx(2 / 3) and child.precision == pytest.approx(2 / 3)


def test_a_confusion_matrix_without_faces_has_undefined_ratios():
    confusion = attribute_confusion([])

    assert confusion.gender.counts == [[0, 0, 0]] * 3
    assert all(f.recall is None and f.precision is None for f in confusion.gender.per_class)
    assert confusion.other_sex_rate == {"female": None, "male": None, "overall": None}


def test_a_label_outside_the_classes_is_an_error():
    with pytest.raises(ValueError, match="label outside"):
        confusion_matrix([("female", "neutral")], ("female", "male", "unknown"))


def test_attribute_metrics_carry_the_confusion_matrices():
    report = attribute_metrics(hand_made_pairs())

    assert report.confusion == attribute_confusion(hand_made_pairs())
    assert report.gender_accuracy == pytest.approx(5 / 8)


def test_cohen_kappa_discounts_the_agreement_chance_alone_gives():
    # Two labellers who both say "male" 90 % of the time agree 82 % of the time by chance alone: 90 % raw
    # agreement is then a kappa of 0.44, not a trustworthy labelling.
    pairs = [("male", "male")] * 85 + [("male", "female")] * 5 + [("female", "male")] * 5 + [("female", "female")] * 5
    matrix = confusion_matrix(pairs, ("female", "male"))

    assert cohen_kappa(matrix) == pytest.approx((0.9 - 0.82) / (1 - 0.82))
    assert cohen_kappa(confusion_matrix([("male", "male")] * 3, ("female", "male"))) is None, "one class: undefined"
    assert cohen_kappa(confusion_matrix([], ("female", "male"))) is None
    perfect = confusion_matrix([("male", "male"), ("female", "female")], ("female", "male"))
    assert cohen_kappa(perfect) == 1.0
