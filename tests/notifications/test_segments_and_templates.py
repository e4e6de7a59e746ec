import re

import pytest

from notifications.segments import count_segments
from notifications.templates import TEMPLATES, render, render_within


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters cost two septets: 160
        ("€" * 81, "GSM-7", 2),
        ("长" * 70, "UCS-2", 1),
        ("长" * 71, "UCS-2", 2),
        ("长" * 134, "UCS-2", 2),
        ("长" * 135, "UCS-2", 3),
        ("a" * 69 + "长", "UCS-2", 1),  # one Chinese character turns the whole text into UCS-2
        ("👵" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
        ("👵" * 36, "UCS-2", 2),
    ],
)
def test_segment_counting(text: str, encoding: str, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.segments) == (encoding, segments)


def test_every_template_is_translated_into_chinese() -> None:
    for name, msgid in TEMPLATES.items():
        params = {key: "x" for key in re.findall(r"{(\w+)}", msgid)}
        assert render(name, "en", **params) == msgid.format(**params)
        chinese = render(name, "zh-CN", **params)
        assert chinese != msgid.format(**params) and re.search(r"[\u4e00-\u9fff]", chinese), name


LINK = "https://carecenter.fangshan.example.cn/r/AAAAAAAAAAEy8wH3w4uAsQ8Kxq"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_critical_alert_fits_two_segments_even_with_a_long_address(language: str) -> None:
    text = render_within(
        "alert",
        language,
        max_segments=2,
        shrink="where",
        center="长阳镇养老服务中心",
        who="欧阳秀英",
        what="SOS呼救" if language == "zh-CN" else "SOS",
        code="12345",
        when="11-24 10:05",
        where="北京市房山区长阳镇长阳半岛社区碧桂园小区东区12号楼3单元502室",
        link=LINK,
    )
    assert count_segments(text).segments <= 2
    assert LINK in text and "欧阳秀英" in text
    assert "…" in text  # the address was shortened, never the link or the name


def test_unknown_languages_fall_back_to_chinese() -> None:
    assert render("test", "fr") == render("test", "zh-CN")
