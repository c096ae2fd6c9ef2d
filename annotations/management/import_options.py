"""What the import commands share: the corpus they import into, who made the faces, and who imports them."""

import re

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from annotations.ingest.annotation_files import FACE_SOURCE_PATTERN, FACE_SOURCE_RULE
from annotations.ingest.manifests import CorpusNameAmbiguous, corpus_for_operator
from annotations.models import Corpus


def add_corpus_arguments(parser) -> None:
    """--corpus NAME and --public, as `corpus_named` reads them."""
    parser.add_argument(
        "--corpus",
        default="Default",
        help=(
            "Corpus name, exact: the shared corpus of that name, else the only corpus of that name "
            "(whoever owns it), else a new shared corpus (private)"
        ),
    )
    parser.add_argument("--public", action="store_true", help="Make a corpus this import creates public")


def corpus_named(name: str, *, public: bool) -> Corpus:
    """The corpus an import command names (`corpus_for_operator`); a name several users' corpora share fails."""
    try:
        return corpus_for_operator(name=name, is_public=public)
    except CorpusNameAmbiguous as exc:
        raise CommandError(str(exc)) from exc


def face_source_checked(source: str) -> str:
    """The --source of imported faces, refused unless the faces can carry it (the API's rule)."""
    if not re.fullmatch(FACE_SOURCE_PATTERN, source):
        raise CommandError(f"--source must be {FACE_SOURCE_RULE}, not {source!r}")
    return source


def importing_user(username: str | None):
    """The user --user names (recorded in the face revisions), None without --user; an unknown name fails."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username!r}")
    return user
