"""The catalogs match the code: every message has its zh-CN words, no entry is left over (pybabel extract)."""

from carecommon.i18n import gettext
from tools.translations import problems


def test_every_message_in_the_code_is_translated_and_every_catalog_entry_is_used() -> None:
    assert problems() == []


def test_the_catalogs_are_compiled_from_the_po_files_at_start() -> None:
    assert gettext("Log in", "zh-CN") == "登录"
    assert gettext("Log in", "en") == "Log in"
    assert gettext("Log in", "fr") == "登录"  # an unknown language falls back to the default
