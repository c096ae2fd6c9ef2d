"""Local scans get random keys stored on their document (issue #13), and uploads keep their names.

Before this, a scan URL's key was sha256(corpus id, source)[:16], also the scans' folder name: anyone
could compute it. Each document that owns a scan folder now gets a random 32-hex key; its folder stays
where it is (stored as `local_folder`), and its pages' image URLs and canvas ids are rewritten to the
new key, so every URL computed before is dead. A folder belongs to the document whose old key names
it, else to the first document (by id) using it. Pages of any other document that pointed at those
files (what a forged manifest could create) lose their local path: they are no longer served.

Uploaded zips: the source showed the server path of the stored upload; it now shows its file name
(and a digest prefix, so two uploads of that name stay two documents), the path moves to `upload_path`.

Reversible: going back rewrites the URLs to the folder names (the old keys) and the uploads' sources
to their paths. Scans imported after this migration have 32-hex folder names the old code does not
serve, and local paths cleared from stray pages are not restored (on purpose).
"""

import hashlib
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.db import migrations, models

OLD_KEY = re.compile(r"^[0-9a-f]{16}$")
LEGACY_UPLOAD = re.compile(r"^([0-9a-f]{24})\.zip$")


def _old_key(document) -> str:
    return hashlib.sha256(f"{document.corpus_id}:{document.source}".encode()).hexdigest()[:16]


def _rewrite(page, old: str, new: str) -> None:
    for field in ("image_service_id", "image_url", "canvas_id"):
        value = getattr(page, field)
        setattr(page, field, value.replace(f"/iiif/local/{old}/", f"/iiif/local/{new}/", 1))


def rekey_local_scans(apps, schema_editor):
    Document = apps.get_model("annotations", "Document")
    Page = apps.get_model("annotations", "Page")
    folders_of: dict[int, set[str]] = {}
    for document_id, local_path in Page.objects.exclude(local_path="").values_list("document_id", "local_path"):
        folder = local_path.split("/", 1)[0]
        if OLD_KEY.match(folder):
            folders_of.setdefault(document_id, set()).add(folder)
    documents = {d.pk: d for d in Document.objects.filter(pk__in=folders_of)}
    owner: dict[str, int] = {}
    for document in documents.values():
        if _old_key(document) in folders_of[document.pk]:
            owner[_old_key(document)] = document.pk
    for document_id in sorted(folders_of):
        for folder in sorted(folders_of[document_id]):
            if folder not in owner and document_id not in owner.values():
                owner[folder] = document_id
    for folder, document_id in owner.items():
        document = documents[document_id]
        document.local_key = secrets.token_hex(16)
        document.local_folder = folder
        document.save(update_fields=["local_key", "local_folder"])
        pages = list(Page.objects.filter(document_id=document_id, local_path__startswith=f"{folder}/"))
        for page in pages:
            _rewrite(page, folder, document.local_key)
        Page.objects.bulk_update(pages, ["image_service_id", "image_url", "canvas_id"], batch_size=500)
        # Pages of other documents pointing at these files (a forged manifest's) are served no more.
        Page.objects.filter(local_path__startswith=f"{folder}/").exclude(document_id=document_id).update(local_path="")


def restore_folder_keys(apps, schema_editor):
    Document = apps.get_model("annotations", "Document")
    Page = apps.get_model("annotations", "Page")
    for document in Document.objects.exclude(local_key=""):
        pages = list(Page.objects.filter(document=document))
        for page in pages:
            _rewrite(page, document.local_key, document.local_folder)
        Page.objects.bulk_update(pages, ["image_service_id", "image_url", "canvas_id"], batch_size=500)


def name_uploads(apps, schema_editor):
    Document = apps.get_model("annotations", "Document")
    uploads = Path(settings.MEDIA_ROOT) / "uploads"
    for document in Document.objects.filter(source__startswith=str(uploads)):
        path = Path(document.source)
        match = LEGACY_UPLOAD.match(path.name)
        if path.parent != uploads or match is None:
            continue
        document.upload_path = f"uploads/{path.name}"
        document.source = f"{path.name} (upload {match.group(1)[:12]})"
        document.save(update_fields=["upload_path", "source"])


def unname_uploads(apps, schema_editor):
    Document = apps.get_model("annotations", "Document")
    for document in Document.objects.exclude(upload_path=""):
        document.source = str(Path(settings.MEDIA_ROOT) / document.upload_path)
        document.save(update_fields=["source"])


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0009_export_corpora"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="local_folder",
            field=models.CharField(
                blank=True, help_text="Folder of its local scans in LOCAL_IMAGES_DIR.", max_length=32
            ),
        ),
        migrations.AddField(
            model_name="document",
            name="local_key",
            field=models.CharField(
                blank=True, help_text="Random key of its local scans' URLs (/iiif/local/<key>/<file>).", max_length=32
            ),
        ),
        migrations.AddField(
            model_name="document",
            name="upload_path",
            field=models.TextField(blank=True, help_text="The stored zip of an uploaded source, under MEDIA_ROOT."),
        ),
        migrations.AddConstraint(
            model_name="document",
            constraint=models.UniqueConstraint(
                condition=models.Q(("local_key", ""), _negated=True),
                fields=("local_key",),
                name="document_unique_local_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="document",
            constraint=models.UniqueConstraint(
                condition=models.Q(("local_folder", ""), _negated=True),
                fields=("local_folder",),
                name="document_unique_local_folder",
            ),
        ),
        migrations.AddConstraint(
            model_name="document",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("local_folder", ""), ("local_key", "")),
                    models.Q(models.Q(("local_key", ""), _negated=True), models.Q(("local_folder", ""), _negated=True)),
                    _connector="OR",
                ),
                name="document_local_key_with_folder",
            ),
        ),
        migrations.RunPython(rekey_local_scans, restore_folder_keys),
        migrations.RunPython(name_uploads, unname_uploads),
    ]
