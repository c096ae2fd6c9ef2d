"""`manage.py detect --document ID [--threshold F] [--max-face-share F] [--turned-faces] [--wait]`: detect faces
on a document."""

from argparse import BooleanOptionalAction

from django.core.management.base import BaseCommand, CommandError

from annotations.models import Document
from detection.errors import DetectionRefused
from detection.inference.registry import DETECTORS
from detection.models import PageDetection
from detection.services import run_create, run_execute
from webapp.jobs import JobStatus


class Command(BaseCommand):
    help = (
        "Detect faces on a document's pages. Queues a run and prints its id; with --wait, runs the pages "
        "here (no worker needed) and prints the number of faces found on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("--document", type=int, required=True, help="Document id")
        parser.add_argument("--detector", help=f"Detector name: {', '.join(DETECTORS)} (default from settings)")
        parser.add_argument("--threshold", type=float, help="Detection confidence threshold, 0 to 1")
        parser.add_argument(
            "--tiling", action=BooleanOptionalAction, default=None, help="Detect on overlapping tiles (small faces)"
        )
        parser.add_argument(
            "--max-face-share",
            type=float,
            help="Largest share of a page a face may cover, above 0 and at most 1 (default from settings)",
        )
        parser.add_argument(
            "--turned-faces",
            action="store_true",
            help="Also read each page turned a quarter turn each way, for faces lying on their side (slower)",
        )
        parser.add_argument("--attributes", help="Age/gender model name, or '' to skip age and gender")
        parser.add_argument("--wait", action="store_true", help="Run the pages now and print the faces found")

    def handle(
        self,
        *args,
        document: int,
        detector,
        threshold,
        tiling,
        max_face_share,
        turned_faces: bool,
        attributes,
        wait: bool,
        **options,
    ):
        found = Document.objects.select_related("corpus").filter(pk=document).first()
        if found is None:
            raise CommandError(f"No document with id {document}")
        try:
            run = run_create(
                user=None,
                document=found,
                detector=detector,
                threshold=threshold,
                tiling=tiling,
                max_face_share=max_face_share,
                turned_faces=turned_faces,
                attribute_model=attributes,
                enqueue=not wait,
            )
        except DetectionRefused as exc:
            raise CommandError(str(exc)) from exc
        described = f"run {run.pk}: {run.pages_total} pages, {run.detector} (threshold {run.params['threshold']}"
        described += ", tiled" if run.params["tiling"] else ""
        described += ", turned faces too)" if run.params["turned_faces"] else ")"
        if not wait:
            self.stdout.write(f"Queued {described}")
            self.stdout.write(str(run.pk))
            return
        self.stdout.write(f"Running {described}")
        run = run_execute(run=run, progress=self._report)
        for failed in PageDetection.objects.filter(run=run, status=JobStatus.FAILED).select_related("page"):
            self.stderr.write(f"page {failed.page.order} failed: {failed.error}")
        if run.status == JobStatus.FAILED:
            raise CommandError(f"Detection failed on every page of run {run.pk}")
        self.stdout.write(f"Run {run.pk}: {run.pages_done} pages done, {run.pages_failed} failed")
        self.stdout.write(str(run.faces_found))

    def _report(self, task: PageDetection) -> None:
        if task.status == JobStatus.DONE:
            self.stdout.write(f"  page {task.page.order}: {task.faces_found} faces in {task.total_seconds:.1f} s")
        else:
            self.stdout.write(f"  page {task.page.order}: {task.status}")
