"""Our IIIF endpoints: an Image API (level 1) for local scans and Presentation 3 manifests of documents.

They take no query parameter: one answers 400 naming it (plain text from the image route, as its other errors).
"""

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from annotations.access import get_document_for_user, get_local_scan_for_user, get_page_for_user
from annotations.iiif_server.annotations import page_annotation_page
from annotations.iiif_server.derivatives import FAILED, READY, derivative_request
from annotations.iiif_server.imaging import ImageUnavailable, local_info, local_render
from annotations.iiif_server.manifest import document_manifest
from annotations.ingest.local_scans import page_local_file
from webapp.messages import message_translated
from webapp.query import takes_query_parameters
from webapp.throttling import AnonymousRenderThrottle, throttled

IIIF_IMAGE_PROFILE = '<http://iiif.io/api/image/3/level1.json>;rel="profile"'


def _path_or_404(page):
    try:
        return page_local_file(page)
    except ValueError as exc:
        raise Http404(_("No such image")) from exc


@require_GET
@takes_query_parameters()
def image_info(request, key: str, name: str):
    path = _path_or_404(get_local_scan_for_user(request.user, key, name))
    info = local_info(path, request.build_absolute_uri(f"/iiif/local/{key}/{name}"))
    response = JsonResponse(info, content_type='application/ld+json;profile="http://iiif.io/api/image/3/context.json"')
    response["Access-Control-Allow-Origin"] = "*"
    response["Link"] = IIIF_IMAGE_PROFILE
    return response


@require_GET
@takes_query_parameters(plain_text=True)
def image_request(request, key: str, name: str, region: str, size: str, rotation: str, quality: str, fmt: str):
    if too_many := throttled(request, "iiif-anonymous", AnonymousRenderThrottle):
        return too_many
    page = get_local_scan_for_user(request.user, key, name)
    path = _path_or_404(page)
    try:
        body = local_render(path, region=region, size=size, rotation=rotation, quality=quality, fmt=fmt)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    except ImageUnavailable as exc:
        return HttpResponseBadRequest(message_translated(exc), content_type="text/plain")
    response = HttpResponse(body, content_type="image/jpeg")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = _image_cache_control(page)
    return response


def _image_cache_control(page) -> str:
    """Shared caches may keep a public corpus's images, a private corpus's stay in the viewer's browser; either
    only IIIF_IMAGE_CACHE_SECONDS, since an admin may make the corpus private, or remove a member, at any time."""
    scope = "public" if page.document.corpus.is_public else "private"
    return f"{scope}, max-age={settings.IIIF_IMAGE_CACHE_SECONDS}"


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@require_GET
@takes_query_parameters()
def manifest(request, document_id: int):
    document = get_document_for_user(request.user, document_id)
    # Viewers such as Mirador fetch without cookies: only a public corpus's faces can be listed to them.
    body = document_manifest(document, base_url=_base_url(request), annotations=document.corpus.is_public)
    response = JsonResponse(body)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@takes_query_parameters()
def annotations(request, page_id: int):
    page = get_page_for_user(request.user, page_id)
    response = JsonResponse(
        page_annotation_page(page, base_url=_base_url(request)),
        content_type='application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"',
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@takes_query_parameters()
def derivative(request, page_id: int):
    """The page image as one bounded JPEG we fetched (for hosts without CORS): 202 while it is fetched."""
    page = get_page_for_user(request.user, page_id)
    state = derivative_request(page=page)
    image = None
    if state.status == READY:
        try:
            image = open(state.path, "rb")
        except FileNotFoundError:
            # Purged between the check and the read (unread for IIIF_DERIVATIVE_RETENTION_DAYS): fetched again.
            state = derivative_request(page=page)
    if image is not None:
        response = FileResponse(image, content_type="image/jpeg")
        response["Cache-Control"] = _image_cache_control(page)
    elif state.status == FAILED:
        response = JsonResponse({"detail": _("The page image could not be fetched: %s") % state.error}, status=502)
    else:
        response = JsonResponse({"status": "pending"}, status=202)
        response["Retry-After"] = "1"
    response["Access-Control-Allow-Origin"] = "*"
    return response
