"""The gettext catalogs: extract the messages from the code, update the .po files, check them.

    python -m tools.translations update   # pybabel extract + update (after changing messages)
    python -m tools.translations check    # CI: exit 1 on a message without a zh-CN translation,
                                          # a catalog entry no code uses, or a fuzzy entry

Messages are English msgids marked with `_`, `N_`, or passed to a domain error (`NotFound`,
`Conflict`, …, `InvalidField`'s second argument), and `_()` in the Jinja2 templates.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from carecommon.i18n import BABEL_LOCALES, DOMAIN, LOCALE_DIR, po_path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = [
    "_",
    "N_",
    "gettext",
    "ngettext:1,2",
    "NotFound",
    "Conflict",
    "Forbidden",
    "NotAuthenticated",
    "TooManyAttempts",
    "DomainError",
    "InvalidField:2",
    "BadSearch",
]
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]
MUST_TRANSLATE = ("zh-CN",)  # English msgids are the English text


def extract(pot: Path) -> Catalog:
    """What the code and templates ask to translate, as pybabel extract finds it."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    command = [*PYBABEL, "-q", "extract", "-F", "babel.cfg", "--no-location", "--sort-output", "--omit-header"]
    subprocess.run([*command, *keywords, "-o", str(pot), "."], cwd=ROOT, check=True)  # noqa: S603
    with pot.open("rb") as file:
        return read_po(file)


def update() -> None:
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / f"{DOMAIN}.pot"
        extract(pot)
        for language, locale in BABEL_LOCALES.items():
            po = po_path(language)
            verb = "update" if po.exists() else "init"
            args = ["--ignore-obsolete", "--no-fuzzy-matching"] if verb == "update" else []
            command = [*PYBABEL, "-q", verb, "-i", str(pot), "-D", DOMAIN, "-d", str(LOCALE_DIR), "-l", locale]
            subprocess.run([*command, *args], check=True)  # noqa: S603
            print(f"{language}: {po.relative_to(ROOT)}")


def problems() -> list[str]:
    """Everything wrong with the catalogs against the code, one line each."""
    found: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        wanted = {message.id for message in extract(Path(folder) / f"{DOMAIN}.pot") if message.id}
    for language in BABEL_LOCALES:
        with po_path(language).open("rb") as file:
            catalog = read_po(file)
        present = {message.id: message for message in catalog if message.id}
        for msgid in sorted(wanted - present.keys(), key=str):
            found.append(f"{language}: not in the catalog: {msgid!r}")
        for msgid in sorted(present.keys() - wanted, key=str):
            found.append(f"{language}: no code uses it: {msgid!r}")
        for msgid, message in present.items():
            if message.fuzzy:
                found.append(f"{language}: fuzzy: {msgid!r}")
            if language in MUST_TRANSLATE and msgid in wanted and not message.string:
                found.append(f"{language}: not translated: {msgid!r}")
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        update()
        return 0
    if argv[:1] == ["check"]:
        found = problems()
        print("\n".join(found) or "catalogs complete")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
