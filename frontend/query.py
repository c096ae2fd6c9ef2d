"""The web pages' query parameters: a page names those it takes in a form, and any other, or a value the
form refuses, answers a 400 page naming it before the view reads anything (never a silent 200)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django import forms
from django.http import HttpResponse
from django.shortcuts import render

from webapp.ids import IdFormField
from webapp.query import READ_METHODS, unknown_parameters


class NoQuery(forms.Form):
    """A page that takes no query parameter."""


class PageQuery(forms.Form):
    """The review canvas: ?face=<id> opens it with that face selected (an id not on the page opens it as usual)."""

    face = IdFormField(required=False)


class CorpusQuery(forms.Form):
    """The models page: ?corpus=<id> selects that corpus."""

    corpus = IdFormField(required=False)


class DocumentQuery(forms.Form):
    """The exports page: ?document=<id> selects that document in the forms."""

    document = IdFormField(required=False)


def page_takes_query(form_class: type[forms.Form] = NoQuery) -> Callable:
    """A web page's reads (GET, HEAD) take the query parameters of `form_class` only: the view gets
    their cleaned values as `query`, a parameter the form does not have or a bad value answers a 400
    page listing each. Other methods do not read the query string: their `query` is the form's
    values when none is given."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def checked(request, *args, **kwargs):
            reading = request.method in READ_METHODS
            form = form_class(request.GET if reading else {})
            refused = {} if form.is_valid() else {name: list(messages) for name, messages in form.errors.items()}
            if reading:
                refused.update(unknown_parameters(request.GET, form.fields))
            if refused:
                return render(
                    request,
                    "frontend/bad_request.html",
                    {"refused": sorted((name, list(messages)) for name, messages in refused.items())},
                    status=400,
                )
            return view(request, *args, query=form.cleaned_data, **kwargs)

        return checked

    return decorator
