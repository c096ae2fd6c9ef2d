"""Query parameters a read route does not take: refused by name, never ignored (a misspelt filter would
answer everything). DRF views refuse them through StrictQueryParameters, other Django views through
takes_query_parameters."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _
from django_filters.utils import translate_validation
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

READ_METHODS = ("GET", "HEAD")


def unknown_parameters(names: Iterable[str], known: Iterable[str]) -> dict[str, list[str]]:
    """A 400 entry for each of `names` not in `known`, listing those the request takes; empty when none."""
    taken = sorted(set(known))
    if taken:
        message = _("Unknown parameter; this request takes %(known)s.") % {"known": ", ".join(taken)}
    else:
        message = _("Unknown parameter; this request takes none.")
    return {name: [message] for name in names if name not in taken}


class StrictQueryParameters:
    """A DRF view's reads (GET, HEAD) refuse every query parameter the view does not take, naming it,
    before the view reads any: never a silent 200.

    A view takes DRF's format override (`format`), its paginator's result page and page size, its
    filterset's filters (`filterset_class`, whether a filter backend or the view applies them), and
    `query_parameters`: those its handler reads itself. `refused_query_parameters` words the refusal
    of some parameters, by name (a write's parameter sent to a read, say). The refusal also names the
    filters whose values are bad, so that one answer lists every mistake.
    """

    query_parameters: tuple[str, ...] = ()
    refused_query_parameters: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # A method the view does not answer is a 405, whatever its parameters.
        if request.method in READ_METHODS and hasattr(self, request.method.lower()):
            refused = unknown_parameters(request.query_params, self.query_parameters_taken())
            for name in refused.keys() & self.refused_query_parameters.keys():
                refused[name] = [str(self.refused_query_parameters[name])]
            if refused:
                raise ValidationError({**self.filters_errors(request.query_params), **refused})

    def query_parameters_taken(self) -> set[str]:
        """The names of the query parameters this view's reads take."""
        taken = {api_settings.URL_FORMAT_OVERRIDE, *self.query_parameters}
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            taken.update(filterset_class.base_filters)
        paginator = getattr(self, "paginator", None)
        taken.update(getattr(paginator, name, None) for name in ("page_query_param", "page_size_query_param"))
        return {name for name in taken if name}

    def filters_errors(self, params) -> dict:
        """The filterset's filters whose values are bad, each with its messages; empty without a filterset."""
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is None:
            return {}
        filterset = filterset_class(data=params)
        return {} if filterset.is_valid() else dict(translate_validation(filterset.errors).detail)


def takes_query_parameters(*names: str, plain_text: bool = False) -> Callable:
    """A Django view (not DRF) that takes these query parameters only: any other answers 400 naming it,
    in JSON, or in plain text (`plain_text`, for a route whose errors are plain text)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def checked(request, *args, **kwargs):
            refused = unknown_parameters(request.GET, names)
            if not refused:
                return view(request, *args, **kwargs)
            if plain_text:
                lines = [f"{name}: {' '.join(messages)}" for name, messages in refused.items()]
                return HttpResponseBadRequest("\n".join(lines), content_type="text/plain")
            return JsonResponse(refused, status=400)

        return checked

    return decorator
