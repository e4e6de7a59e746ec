"""Message kinds: each renders in both languages from its parameters, and its proposed template
keeps the providers' rules (a variable per parameter, no two in a row, a link only as fixed text)."""

import re

import pytest

from notifications.kinds import KINDS, TOKEN, MessageKind, render_text
from notifications.segments import count_segments

PROPOSED = [k for k in KINDS.values() if k.name != "text"]


@pytest.mark.parametrize("kind", PROPOSED, ids=lambda k: k.name)
def test_every_kind_renders_in_both_languages(kind: MessageKind) -> None:
    params = {name: f"v{n}" for n, name in enumerate(kind.params)}
    for language in ("zh-CN", "en"):
        text = render_text(kind, params, language, "https://cc.example.org")
        assert text and "{" not in text, text
        if TOKEN in params:
            assert f"https://cc.example.org{kind.link}{params[TOKEN]}" in text


@pytest.mark.parametrize("kind", PROPOSED, ids=lambda k: k.name)
def test_the_proposed_template_keeps_the_providers_rules(kind: MessageKind) -> None:
    proposed = kind.proposed
    variables = re.findall(r"\$\{(\w+)\}", proposed)
    assert sorted(set(variables)) == sorted(kind.params), kind
    assert not re.search(r"\}\$\{", proposed), "two variables in a row are refused"
    assert "【" not in proposed and "】" not in proposed  # the signature's brackets
    for link in re.findall(r"\{public_url\}[^\s，。]*", proposed):
        assert link.endswith("${token}") and link.count("${") == 1  # the base fixed, only the token varies


def test_a_critical_alert_fits_two_segments_whatever_the_address() -> None:
    params = {
        "center": "长阳镇",
        "code": "123456",
        "who": "王秀英",
        "what": "跌倒",
        "when": "12-06 03:00",
        "where": "北京市房山区长阳镇稻田村" * 10,
        TOKEN: "A" * 24,
    }
    text = render_text(KINDS["alert.critical"], params, "zh-CN", "https://cc.example.org")
    assert count_segments(text).segments <= 2 and text.endswith("A" * 24) and "…" in text


def test_a_kind_refuses_missing_and_unknown_parameters() -> None:
    with pytest.raises(ValueError, match="missing"):
        KINDS["visit.late"].check({"center": "x"})
    with pytest.raises(ValueError, match="unexpected"):
        KINDS["test.sms"].check({"extra": "x"})
