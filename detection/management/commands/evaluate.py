"""`manage.py evaluate --document ID [--detector NAME]`: precision, recall and AP@0.5 against curated faces."""

import json

from django.core.management.base import BaseCommand, CommandError

from annotations.models import Document, Page
from detection.inference.metrics import ConfusionMatrix
from detection.model_loop.evaluation import (
    Evaluation,
    EvaluationRefused,
    evaluation_for_detector,
    evaluation_for_run,
    latest_run_for_document,
    reviewed_pages,
)
from detection.model_loop.training import trained_models_register
from detection.models import DetectionRun


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def confusion_lines(title: str, matrix: ConfusionMatrix) -> list[str]:
    """A confusion matrix as text: curated classes in rows with their recall, predicted in columns."""
    lines = [f"{title + ' (rows curated)':<22}" + "".join(f"{label:>9}" for label in matrix.classes) + f"{'recall':>9}"]
    for figures in matrix.per_class:
        lines.append(
            f"{figures.label:<22}" + "".join(f"{count:>9}" for count in figures.row) + f"{_fmt(figures.recall):>9}"
        )
    lines.append(f"{'precision':<22}" + "".join(f"{_fmt(figures.precision):>9}" for figures in matrix.per_class))
    return lines


class Command(BaseCommand):
    help = (
        "Compare detections with the curated faces of a document's reviewed pages (rejected faces excluded). "
        "With --detector, that detector runs afresh on the pages in memory (no face is stored); otherwise "
        "the boxes stored by the document's latest run (or --run) are evaluated."
    )

    def add_arguments(self, parser):
        parser.add_argument("--document", type=int, required=True, help="Document id")
        parser.add_argument("--detector", help="Registry detector to run afresh (e.g. res10, res10+rescore@v1)")
        parser.add_argument("--threshold", type=float, help="Operating threshold (default: the detector's own)")
        parser.add_argument("--attributes", default="", help="Age/gender model to score on matched faces")
        parser.add_argument("--run", type=int, help="Evaluate this run's stored boxes instead of the latest run")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print the full evaluation as JSON")

    def handle(self, *args, document: int, detector, threshold, attributes: str, run, as_json: bool, **options):
        found = Document.objects.filter(pk=document).first()
        if found is None:
            raise CommandError(f"No document with id {document}")
        pages = reviewed_pages(document=found)
        if not pages.exists():
            raise CommandError(f"Document {document} has no reviewed page: review some pages first")
        if detector:
            trained_models_register()
            try:
                result = evaluation_for_detector(
                    pages=pages,
                    detector=detector,
                    threshold=threshold,
                    attribute_model=attributes,
                    progress=self._progress,
                )
            except EvaluationRefused as exc:
                raise CommandError(str(exc)) from exc
            result.document_id = found.pk
        else:
            chosen = DetectionRun.objects.filter(pk=run).first() if run else latest_run_for_document(document=found)
            if chosen is None:
                raise CommandError(f"No detection run on document {document}: give --detector to run one afresh")
            result = evaluation_for_run(run=chosen, document=found)
        if as_json:
            self.stdout.write(json.dumps(result.as_dict(), indent=1))
            return
        self._table(result, document=found)

    def _progress(self, done: int, page: Page) -> None:
        self.stderr.write(f"  page {page.order} evaluated ({done})")

    def _table(self, result: Evaluation, *, document: Document) -> None:
        report = result.report
        origin = f"run {result.run_id}" if result.run_id else "fresh, in memory"
        self.stdout.write(
            f"Evaluation of {result.detector} ({origin}) on {result.pages} reviewed pages of document {document.pk}: "
            f"{report.truths} curated faces, {report.predictions} boxes at threshold {result.threshold}"
        )
        if result.ignored_truths:
            self.stdout.write(f"  {result.ignored_truths} faces curated before the run were left out of the truth")
        for note in result.notes:
            self.stdout.write(f"  note: {note}")
        self.stdout.write("")
        self.stdout.write(f"{'metric':<14}{'value':>8}")
        rows = [
            ("precision", report.precision),
            ("recall", report.recall),
            ("F1", report.f1),
            ("AP@0.5", report.ap50),
            ("AP@0.5:0.95", report.ap50_95),
        ]
        for name, value in rows:
            self.stdout.write(f"{name:<14}{_fmt(value):>8}")
        self.stdout.write(
            f"{'TP / FP / FN':<14}{report.true_positives:>4} / {report.false_positives} / {report.false_negatives}"
        )
        self.stdout.write("")
        self.stdout.write(f"{'face size':<16}{'faces':>6}{'boxes':>7}{'precision':>10}{'recall':>8}{'AP@0.5':>8}")
        for bucket in report.by_size:
            self.stdout.write(
                f"{bucket.name:<16}{bucket.truths:>6}{bucket.predictions:>7}"
                f"{_fmt(bucket.precision):>10}{_fmt(bucket.recall):>8}{_fmt(bucket.ap50):>8}"
            )
        self.stdout.write("")
        for row in result.suggestions():
            if row["threshold"] is None:
                self.stdout.write(f"threshold for precision >= {row['target_precision']:.2f}: not reachable")
            else:
                self.stdout.write(
                    f"threshold for precision >= {row['target_precision']:.2f}: {row['threshold']:.3f} "
                    f"(recall {_fmt(row['recall'])})"
                )
        best = report.best_f1()
        if best is not None:
            self.stdout.write(f"best F1 {best.f1:.3f} at threshold {best.threshold:.3f}")
        if result.attributes is not None:
            attributes = result.attributes
            self.stdout.write(
                f"gender accuracy {_fmt(attributes.gender_accuracy)} on {attributes.gender_faces} faces; "
                f"age MAE {_fmt(attributes.age_mae, 1)} years on {attributes.age_faces} faces; "
                f"child accuracy {_fmt(attributes.child_accuracy)} on {attributes.child_faces} faces"
            )
            if attributes.confusion is not None:
                confusion = attributes.confusion
                for line in confusion_lines("gender", confusion.gender):
                    self.stdout.write(line)
                rates = ", ".join(f"{sex} {_fmt(rate)}" for sex, rate in confusion.other_sex_rate.items())
                self.stdout.write(f"labelled as the other sex: {rates}")
                for line in confusion_lines("child", confusion.child):
                    self.stdout.write(line)
        self.stdout.write(f"precision {_fmt(report.precision)} recall {_fmt(report.recall)} AP@0.5 {_fmt(report.ap50)}")
