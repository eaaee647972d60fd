"""The pages' languages: Dutch by default, English as the alternative (issue 17).

Texts are written in English and marked for translation where they are written: in the
templates ``{{ _("...") }}`` or ``{% trans %}...{% endtrans %}``, in the pages' scripts
``_("...")`` from ``api/static/i18n.js``, and in Python :func:`N_` (a marker for a text
translated where it is shown). ``pybabel extract`` (``babel.cfg``, see ``scripts/i18n``)
collects them; ``api/locale/nl/LC_MESSAGES/messages.po`` holds their Dutch. Babel reads
that .po file when the app starts, so there is no compiled .mo file to keep in step.

The language of a page is, in this order: ``?lang=`` in its address (then remembered in
the ``lang`` cookie), the ``lang`` cookie, the browser's ``Accept-Language``, Dutch.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import Any

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "COOKIE",
    "DEFAULT",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "Language",
    "from_accept_language",
    "language",
    "language_of",
    "remember",
    "template_environment",
]

LANGUAGES = ("nl", "en")
"""The pages' languages; the first is the default. English is the catalogue's source."""
DEFAULT = LANGUAGES[0]
COOKIE = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
_YEAR = 365 * 24 * 3600


def N_(message: str) -> str:  # noqa: N802 - gettext's name for the marker
    """Mark ``message`` for extraction; it is translated where it is shown (``_(...)``)."""
    return message


@dataclass(frozen=True)
class Language:
    """One language of the pages: its gettext translations and its scripts' share of them."""

    code: str
    translations: gettext.NullTranslations
    scripts: Mapping[str, str]
    """English text → this language's text, for the messages the pages' scripts use (those
    the catalogue locates in a ``.js`` file), embedded in every page for ``i18n.js``."""

    def gettext(self, message: str, **values: Any) -> str:
        """``message`` in this language, with ``%(name)s`` filled from ``values``."""
        text = self.translations.gettext(message)
        return text % values if values else text


@functools.cache
def language(code: str) -> Language:
    """The language ``code`` (one of :data:`LANGUAGES`), its catalogue read once."""
    if code not in LANGUAGES:
        raise ValueError(f"no language {code!r}: one of {', '.join(LANGUAGES)}")
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():  # the source language: the texts as written
        return Language(code, gettext.NullTranslations(), MappingProxyType({}))
    with path.open("rb") as f:
        catalog = read_po(f, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # leaves out fuzzy and untranslated messages
    compiled.seek(0)
    scripts = {
        m.id: m.string
        for m in catalog
        if isinstance(m.id, str)
        and isinstance(m.string, str)
        and m.id
        and m.string
        and not m.fuzzy
        and any(str(where).endswith(".js") for where, _line in m.locations)
    }
    return Language(code, Translations(compiled, domain=DOMAIN), MappingProxyType(scripts))


def from_accept_language(header: str) -> str:
    """The first of :data:`LANGUAGES` the browser prefers (by q-value), else the default."""
    ranked: list[tuple[float, int, str]] = []
    for at, item in enumerate(header.split(",")):
        tag, _sep, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, at, tag.split("-")[0].lower()))
    for _q, _at, primary in sorted(ranked):
        if primary in LANGUAGES:
            return primary
        if primary == "*":
            return DEFAULT
    return DEFAULT


def language_of(request: Request) -> str:
    """The language ``request`` asks for: ``?lang=``, the cookie, Accept-Language, Dutch."""
    for asked in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if asked in LANGUAGES:
            return str(asked)
    return from_accept_language(request.headers.get("accept-language", ""))


def remember(request: Request, response: Response) -> None:
    """Keep a language chosen with ``?lang=`` in the ``lang`` cookie for a year."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, str(asked), max_age=_YEAR, samesite="lax", httponly=True)


def _lang(context: Context) -> Language:
    return language(str(context.get("lang", DEFAULT)))


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _lang(context).translations.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _lang(context).translations.ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, where: str, message: str) -> str:
    return _lang(context).translations.pgettext(where, message)


@pass_context
def _npgettext(context: Context, where: str, singular: str, plural: str, n: int) -> str:
    return _lang(context).translations.npgettext(where, singular, plural, n)


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value[:10])


def _as_datetime(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pass_context
def _date_filter(context: Context, value: date | str | None, style: str = "medium") -> str:
    """``{{ day | date }}``: a date (or ISO text) the page's language's way (6 dec 2026)."""
    if value is None or value == "":
        return ""
    return format_date(_as_date(value), format=style, locale=_lang(context).code)


@pass_context
def _datetime_filter(context: Context, value: datetime | str | None, style: str = "medium") -> str:
    """``{{ moment | datetime }}``: a UTC moment the page's language's way, marked UTC."""
    if value is None or value == "":
        return ""
    text = format_datetime(
        _as_datetime(value), format=style, tzinfo=UTC, locale=_lang(context).code
    )
    return f"{text} UTC"


@pass_context
def _number_filter(context: Context, value: float | int | None, decimals: int | None = None) -> str:
    """``{{ n | number }}`` or ``{{ score | number(2) }}``: digits grouped and the decimal
    sign of the page's language (1.234,5 in Dutch)."""
    if value is None:
        return ""
    pattern = None if decimals is None else "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(value, format=pattern, locale=_lang(context).code)


def template_environment(
    directory: Path,
    terms: Mapping[str, str],
    skill_label: Callable[[str, str], str],
    reason_text: Callable[[Any, str], str],
) -> Environment:
    """The pages' Jinja2 environment: autoescaped, with the i18n extension whose gettext
    reads the ``lang`` each page is rendered with, the ``date``, ``datetime`` and
    ``number`` filters that format the way that language does, ``term``: a ledger value
    (``on_request``) in words (``terms``, English, translated: "op aanvraag"), and
    ``skill``: a skill's slug by its label in that language (``skill_label(slug, lang)``),
    ``reason``: a matching reason in words in that language (``reason_text(reason, lang)``)."""

    @pass_context
    def skill(context: Context, slug: str) -> str:
        return skill_label(slug, _lang(context).code)

    @pass_context
    def reason(context: Context, value: Any) -> str:
        return reason_text(value, _lang(context).code)

    @pass_context
    def term(context: Context, value: object) -> str:
        text = terms.get(str(value))
        return str(value) if text is None else _lang(context).translations.gettext(text)

    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True  # {% trans %} texts on one line, as extracted
    install: Callable[..., None] = env.install_gettext_callables  # type: ignore[attr-defined]
    install(_gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext)
    env.filters.update(
        date=_date_filter,
        datetime=_datetime_filter,
        number=_number_filter,
        term=term,
        skill=skill,
        reason=reason,
    )
    return env


# -- the catalogue's completeness (tests/test_i18n.py, ``scripts/i18n missing``) ------------

ROOT = Path(__file__).resolve().parent.parent
_IGNORED_DIRS = (".", "_", "node_modules", "tests", "bench", "docs", "build")


def extracted(root: Path = ROOT) -> dict[str, set[str]]:
    """Every text marked for translation in the checkout at ``root`` (what ``babel.cfg``
    names: _() and N_() in Python, the templates, the pages' scripts), with its files."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (root / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]

    def wanted(dirname: str) -> bool:
        return not Path(dirname).name.startswith(_IGNORED_DIRS)

    found: dict[str, set[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(root),
        method_map,
        options_map,
        keywords={**DEFAULT_KEYWORDS, "N_": None},
        directory_filter=wanted,
    ):
        for msgid in (message,) if isinstance(message, str) else message:
            if msgid:
                found.setdefault(msgid, set()).add(filename)
    return found


def missing(code: str = DEFAULT, root: Path = ROOT) -> list[str]:
    """The marked texts without a translation in ``code``'s catalogue: absent, empty or
    fuzzy, each with where it is used; and every translation Babel's checks refuse (a
    placeholder of the English missing from the translation, or one added)."""
    path = root / "api" / "locale" / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=code, domain=DOMAIN)
    problems = []
    for msgid, files in sorted(extracted(root).items()):
        message = catalog.get(msgid)
        string = None if message is None else message.string
        text = string if isinstance(string, str) else "".join(string or ())
        if message is None:
            problems.append(f"no entry: {msgid!r} ({', '.join(sorted(files))})")
        elif not text or message.fuzzy:
            why = "fuzzy" if message.fuzzy else "empty"
            problems.append(f"{why}: {msgid!r} ({', '.join(sorted(files))})")
    for message, errors in catalog.check():
        problems.extend(f"{error}: {message.id!r}" for error in errors)
    return problems


if __name__ == "__main__":  # ``scripts/i18n missing [LANG]``
    import sys

    code = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    found = missing(code)
    print("\n".join(found) or f"every marked text has its translation ({code})")
    sys.exit(1 if found else 0)
