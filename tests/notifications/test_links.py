from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from notifications.links import link_url, response_link_values, sign_link_id, verify_link_token
from notifications.models import LinkRole, ResponseLink, ResponseLinkAnswer
from tests.conftest import PUBLIC_URL, TEST_SECRET, Clock

SECRET = TEST_SECRET.encode()


def make_link(
    session: Session, clock: Clock, role: LinkRole = LinkRole.family, language: str = "zh-CN", alert_id: int = 41
) -> ResponseLink:
    link = ResponseLink(
        **response_link_values(
            alert_id=alert_id,
            role=role,
            phone="+8613900003333",
            language=language,
            now=clock.now,
            valid_for=timedelta(hours=24),
        )
    )
    session.add(link)
    session.commit()
    return link


def test_tokens_are_signed_short_and_specific() -> None:
    token = sign_link_id(12345, SECRET)
    assert len(token) == 24
    assert verify_link_token(token, SECRET) == 12345
    assert verify_link_token(token, b"another-secret") is None
    assert verify_link_token(sign_link_id(12346, SECRET)[:8] + token[8:], SECRET) is None  # another id, same MAC
    assert verify_link_token("not base64 !!", SECRET) is None
    assert verify_link_token("", SECRET) is None


def test_links_expire_and_forged_links_are_unknown(client: TestClient, session: Session, clock: Clock) -> None:
    link = make_link(session, clock)
    path = link_url(PUBLIC_URL, link, SECRET).removeprefix(PUBLIC_URL)
    clock.advance(hours=24)
    expired = client.post(path, data={"answer": "going"})
    assert expired.status_code == 410
    assert "此链接已过期" in expired.text
    assert session.exec(select(ResponseLinkAnswer)).all() == []
    assert client.get("/r/" + sign_link_id(link.id or 0, b"guessed-secret")).status_code == 404
    assert client.get("/r/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
