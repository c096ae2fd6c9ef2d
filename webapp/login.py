"""The API token endpoint, under the same login lockout as the web and admin logins (webapp/lockout.py)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken import serializers as authtoken_serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from webapp.lockout import lockout_api_response

User = get_user_model()


class AuthTokenSerializer(authtoken_serializers.AuthTokenSerializer):
    """DRF's serializer, which authenticates with the request (so the lockout sees it); usernames fit the table."""

    username = serializers.CharField(
        label=_("Username"), write_only=True, max_length=User._meta.get_field(User.USERNAME_FIELD).max_length
    )


class ObtainAuthTokenView(ObtainAuthToken):
    """A token for a username and password; 429 while that login is locked out or slowed down."""

    serializer_class = AuthTokenSerializer
    # ObtainAuthToken names DRF's own parsers: ours refuse hostile JSON (deep, NaN, huge) with a 400.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    @extend_schema(
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password."),
            429: OpenApiResponse(description="Locked out or slowed down: `detail`, `retry_after` (seconds)."),
        }
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # The lockout marks the DRF request it was given (the serializer's context request).
            if getattr(request, "axes_locked_out", False):
                return lockout_api_response(request, getattr(request, "axes_credentials", None))
            raise
