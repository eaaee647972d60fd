"""Rendering a page of the pages (api/templates) in the language its request asks for.

Used by the pages' routers and by :mod:`api.errors`, which answers a browser's page
request with a page rather than a problem document (issue 17).
"""

from __future__ import annotations

from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .cookie import COOKIE_NAME, session_tag
from .i18n import language, language_of, remember
from .wording import RULES, skill_choices

__all__ = ["render"]


def render(
    request: Request, name: str, title: str, page: str, *, http_status: int = 200, **values: Any
) -> HTMLResponse:
    """Template ``name`` as a page: in the request's language (:func:`api.i18n.language_of`,
    a ``?lang=`` choice remembered), with what ``base.html`` needs (the scripts' texts, the
    rule codes in words, the skills' labels). ``title``: English, marked with ``N_``."""
    templates: Jinja2Templates = request.app.state.templates
    lang = language_of(request)
    token = request.cookies.get(COOKIE_NAME) if values.get("viewer") else None
    said = language(lang)
    values.update(
        title=title,
        page=page,
        lang=lang,
        script_messages=dict(said.scripts),
        rule_messages={code: said.gettext(text) for code, text in RULES.items()},
        skill_choices=skill_choices(lang),
        # the live session's tag (api.cookie), which the browser binds its unlocked key to
        session=session_tag(token) if token else "",
    )
    response = templates.TemplateResponse(request, name, values, status_code=http_status)
    remember(request, response)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response
