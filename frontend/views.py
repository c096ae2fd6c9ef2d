"""Web pages: thin views that read through selectors and render templates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from annotations import selectors
from annotations.access import (
    corpora_visible_to,
    corpus_role,
    corpus_roles,
    get_document_for_user,
    get_page_for_user,
    get_person_for_user,
    role_at_least,
)
from annotations.ingest.manifests import CorpusNameAmbiguous, ImportFailed, document_import_from_input
from annotations.models import CorpusRole
from annotations.serializers import (
    DocumentImportInputSerializer,
    DocumentRemoveInputSerializer,
    PageReviewChangeSerializer,
    curator_names_context,
)
from annotations.services import DocumentConflict, DocumentRemovalRefused, document_remove
from frontend.query import PageQuery, page_takes_query
from webapp.exceptions import validation_error_text
from webapp.throttling import throttle_writes


@page_takes_query()
def home(request, query):
    documents = selectors.document_list(user=request.user)
    corpora = list(corpora_visible_to(request.user).order_by("name"))
    roles = corpus_roles(request.user, [corpus.pk for corpus in corpora])
    return render(
        request,
        "frontend/home.html",
        {
            "corpora": corpora,
            "documents": documents,
            # The corpora whose settings page the reader may open (their admins').
            "administered": {pk for pk, role in roles.items() if role == CorpusRole.ADMIN},
        },
    )


@login_required
@require_POST
@throttle_writes("expensive")
def document_import(request):
    fields = request.POST.copy()
    fields.update(request.FILES)
    payload = DocumentImportInputSerializer(data=fields)
    try:
        payload.is_valid(raise_exception=True)
        document = document_import_from_input(
            user=request.user,
            corpus_name=payload.validated_data.get("corpus", "").strip(),
            corpus_id=payload.validated_data.get("corpus_id"),
            source=payload.validated_data.get("source", ""),
            upload=payload.validated_data.get("upload"),
        )
    except ValidationError as exc:
        messages.error(request, _("Import refused: %(reason)s") % {"reason": validation_error_text(exc.detail)})
        return redirect("home")
    except (ImportFailed, CorpusNameAmbiguous, PermissionDenied, Http404) as exc:
        messages.error(request, _("Import refused: %(reason)s") % {"reason": exc})
        return redirect("home")
    messages.info(request, _("Import queued: this page updates as it runs."))
    return redirect("document", document_id=document.pk)


@page_takes_query()
def document_detail(request, document_id: int, query):
    document = get_document_for_user(request.user, document_id)
    pages = selectors.page_list(user=request.user, document_id=document.pk)
    administers_corpus = corpus_role(request.user, document.corpus) == CorpusRole.ADMIN
    return render(
        request,
        "frontend/document.html",
        {
            "document": document,
            "pages": pages,
            "review_progress": selectors.document_review_progress(document=document),
            "administers_corpus": administers_corpus,
            # Whether its admins may remove it here, and if not why (document_remove decides again).
            "removal": selectors.document_removal_blockers(document=document) if administers_corpus else None,
        },
    )


@require_POST
def document_remove_form(request, document_id: int):
    """The document page's removal form: home with what was removed, or back to the document saying why not."""
    document = get_document_for_user(request.user, document_id, CorpusRole.ADMIN)
    payload = DocumentRemoveInputSerializer(data=request.POST)
    try:
        payload.is_valid(raise_exception=True)
        document_remove(document=document, user=request.user, updated_at=payload.validated_data["updated_at"])
    except ValidationError as exc:
        messages.error(request, _("Not removed: %(reason)s") % {"reason": validation_error_text(exc.detail)})
    except DocumentConflict:
        messages.error(request, _("Not removed: this document changed since you read it. Here it is now."))
    except DocumentRemovalRefused as exc:
        messages.error(request, _("Not removed: %(reason)s") % {"reason": exc.message})
    else:
        messages.success(request, _("Document “%(label)s” removed.") % {"label": document.label or document.source})
        return redirect("home")
    return redirect("document", document_id=document.pk)


@page_takes_query(PageQuery)
def page_detail(request, page_id: int, query):
    page = get_page_for_user(request.user, page_id)
    neighbours = selectors.page_neighbours(page=page)
    role = corpus_role(request.user, page.document.corpus)
    can_edit = role_at_least(role, CorpusRole.CURATOR)
    return render(
        request,
        "frontend/page.html",
        {
            "page": page,
            "document": page.document,
            "page_count": page.document.pages.count(),
            "can_edit": can_edit,
            "next_unreviewed_in_corpus": selectors.page_next_unreviewed_in_corpus(user=request.user, page=page),
            # The review canvas starts from these (json_script) instead of paging through the API.
            "faces": selectors.page_faces_for_review(page=page),
            "page_data": {
                "id": page.pk,
                "width": page.width,
                "height": page.height,
                "imageServiceId": page.image_service_id,
                "imageServiceVersion": page.image_service_version,
                "imageUrl": page.image_url,
                "imageWidth": page.image_width,
                "imageHeight": page.image_height,
                "reviewStatus": page.review_status,
                "reviewVersion": page.review_version,
                "reviewHistory": PageReviewChangeSerializer(
                    selectors.page_review_history(page=page), many=True, context=curator_names_context(request.user)
                ).data,
                "canEdit": can_edit,
                "corpusId": page.document.corpus_id,
                # Scopes the browser's buffer of unsaved edits (page.js) to this user.
                "userId": request.user.pk,
            },
            **neighbours,
        },
    )


@page_takes_query()
def person_detail(request, person_id: int, query):
    """A person of a corpus: their faces across its documents, each a link into the review canvas."""
    person = get_person_for_user(request.user, person_id)
    return render(request, "frontend/person.html", {"person": person, "faces": selectors.person_faces(person=person)})
