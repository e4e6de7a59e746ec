"""Words in the user's language: one gettext catalog (Babel), zh-CN and en, compiled at start.

Messages in the code are English msgids, marked for `pybabel extract` (`_`, `N_`, the domain
errors' constructors; see `tools/translations.py`). The `.po` files under `locale/` are the
source of truth; they are compiled in memory the first time a language is used, so a compiled
catalog is never stale and none is committed.
"""

import gettext as _gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.core import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

DOMAIN = "carecenter"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
BABEL_LOCALES = {"zh-CN": "zh_CN", "en": "en"}


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def language_of(value: str | None) -> str:
    """One of LANGUAGES: the value if supported, else the default (zh-CN)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def po_path(language: str) -> Path:
    return LOCALE_DIR / BABEL_LOCALES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of a language (built from its .po file once per process)."""
    language = language_of(language)
    with po_path(language).open("rb") as po:
        catalog = read_po(po, locale=BABEL_LOCALES[language], domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def gettext(message: str, language: str | None) -> str:
    """`message` (an English msgid) in `language`."""
    return translations(language_of(language)).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int, language: str | None) -> str:
    return translations(language_of(language)).ngettext(singular, plural, n)


def negotiate(accept_language: str | None) -> str | None:
    """The supported language an `Accept-Language` header prefers most, or None."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        try:
            locale = Locale.parse(tag.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue
        if locale.language == "zh":
            return "zh-CN"
        if locale.language == "en":
            return "en"
    return None


class Word(str):
    """A msgid passed as a parameter of a message: translated together with the message."""

    __slots__ = ()


def install_jinja_gettext(environment: Environment) -> None:
    """`_()` in templates (jinja2.ext.i18n, new style) in the language of the context's `lang`."""

    @pass_context
    def _gettext(context: Context, message: str) -> str:
        return gettext(message, context.get("lang"))

    @pass_context
    def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n, context.get("lang"))

    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
