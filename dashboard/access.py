"""Who may do what: viewers read every page; admins also change settings, manage tokens and act on advice.

A viewer is any active account; an admin is a staff account (`manage.py create_user NAME --role admin`,
or the staff flag in /admin/). Pages send anonymous people to the login page; JSON answers 401.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse


def is_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def viewer_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: Callable) -> Callable:
    """For the views that change something; a viewer gets 403 with what to ask for."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_admin(request.user):
            raise PermissionDenied("Only admins can change this: ask an admin, or for the admin role.")
        return view(request, *args, **kwargs)

    return wrapper


def json_viewer_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "Log in first: this data is for signed-in users."}, status=401)
        return view(request, *args, **kwargs)

    return wrapper
