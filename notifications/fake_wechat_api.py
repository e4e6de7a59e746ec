"""A local stand-in for the WeChat Official Account API, and for WeChat posting events to our server.

API (https://developers.weixin.qq.com/doc/offiaccount/): `GET /cgi-bin/token` (the access token),
`POST /cgi-bin/qrcode/create` (a parametric QR code), `POST /cgi-bin/message/template/send` (a
template message: the openid must follow the account, the template must be the account's, its
fields exactly the template's, each at most 20 characters). Errors as WeChat answers them: HTTP
200 with `errcode`. Events are XML posted to the server URL with `signature`, `timestamp` and
`nonce` in the query (SHA-1 of the sorted token, timestamp and nonce), as WeChat signs them.
"""

import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from notifications.fake_api import LocalApi


@dataclass
class WeChatTemplateMessage:
    msgid: int
    openid: str
    template_id: str
    data: dict[str, str]
    url: str | None
    received_at: float = field(default_factory=time.monotonic)


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's


class FakeWeChatApi(LocalApi):
    thread_name = "fake-wechat"

    def __init__(self, *, templates: dict[str, set[str]] | None = None) -> None:
        super().__init__()
        self.app_id = "wx0000000000fake1"
        self.app_secret = "fake-wechat-secret"  # noqa: S105 - the stand-in's own made-up secret
        self.token = "fake-wechat-server-token"  # noqa: S105 - the server token set in the console
        self.account = "gh_fakeaccount01"
        self.templates = templates or {}  # template id -> its field names
        self.followers: set[str] = set()
        self.messages: list[WeChatTemplateMessage] = []
        self.refused: list[int] = []
        self.codes: dict[str, str] = {}  # ticket -> scene
        self.server_url: str | None = None  # set "in the console": where events are posted
        self._tokens: set[str] = set()
        self._msgids = itertools.count(200228332)

    # -- WeChat posting to our server ------------------------------------------------------------
    def _post_event(self, openid: str, fields: dict[str, str], post: Callable[..., Any]) -> Any:
        assert self.server_url, "no server URL set in the console"
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {"signature": wechat_signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        parts = {"ToUserName": self.account, "FromUserName": openid, "CreateTime": timestamp} | fields
        xml = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in parts.items()) + "</xml>"
        separator = "&" if "?" in self.server_url else "?"
        return post(
            self.server_url + separator + urlencode(query),
            content=xml.encode(),
            headers={"Content-Type": "text/xml"},
        )

    def scan(self, openid: str, ticket: str, *, post: Callable[..., Any] = httpx.post) -> Any:
        """A family member scans the code: a new follower's `subscribe` (EventKey qrscene_…), else `SCAN`."""
        scene = self.codes[ticket]
        if openid in self.followers:
            fields = {"MsgType": "event", "Event": "SCAN", "EventKey": scene, "Ticket": ticket}
        else:
            self.followers.add(openid)
            fields = {"MsgType": "event", "Event": "subscribe", "EventKey": f"qrscene_{scene}", "Ticket": ticket}
        return self._post_event(openid, fields, post)

    def unfollow(self, openid: str, *, post: Callable[..., Any] = httpx.post) -> Any:
        self.followers.discard(openid)
        return self._post_event(openid, {"MsgType": "event", "Event": "unsubscribe", "EventKey": ""}, post)

    def say(self, openid: str, text: str, *, post: Callable[..., Any] = httpx.post) -> Any:
        fields = {"MsgType": "text", "Content": text, "MsgId": str(next(self._msgids))}
        return self._post_event(openid, fields, post)

    def finish(self, msgid: int, status: str = "success", *, post: Callable[..., Any] = httpx.post) -> Any:
        """WeChat's TEMPLATESENDJOBFINISH: `success`, `failed:user block` or `failed: system failed`."""
        message = next(m for m in self.messages if m.msgid == msgid)
        fields = {"MsgType": "event", "Event": "TEMPLATESENDJOBFINISH", "MsgID": str(msgid), "Status": status}
        return self._post_event(message.openid, fields, post)

    # -- the API ---------------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query))
        body = self.body_of(request)
        if self.down:
            return self.reply(request, 503, b"Service Unavailable", "text/plain")
        if url.path == "/cgi-bin/token":
            return self._token(request, query)
        if query.get("access_token") not in self._tokens:
            return self._error(request, 40001, "invalid credential, access_token is invalid or not latest")
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return self._error(request, 47001, "data format error")
        if url.path == "/cgi-bin/message/template/send":
            return self._send(request, payload)
        if url.path == "/cgi-bin/qrcode/create":
            return self._qrcode(request, payload)
        return self._error(request, 48001, "api unauthorized")

    def _token(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("appid") != self.app_id:
            return self._error(request, 40013, "invalid appid")
        if query.get("secret") != self.app_secret:
            return self._error(request, 40125, "invalid appsecret")
        token = secrets.token_urlsafe(32)
        with self.lock:
            self._tokens.add(token)
        self.reply(request, 200, {"access_token": token, "expires_in": 7200})

    def _send(self, request: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        openid, template = str(payload.get("touser", "")), str(payload.get("template_id", ""))
        data = {k: str((v or {}).get("value", "")) for k, v in (payload.get("data") or {}).items()}
        if openid not in self.followers:
            return self._error(request, 43004, "require subscribe")
        if template not in self.templates:
            return self._error(request, 40037, "invalid template_id")
        if set(data) != self.templates[template] or any(len(v) > 20 or not v for v in data.values()):
            return self._error(request, 47003, "argument invalid! data.value invalid")
        msgid = next(self._msgids)
        with self.lock:
            self.messages.append(WeChatTemplateMessage(msgid, openid, template, data, payload.get("url")))
        self.received(f"WeChat template message to {openid}: {template} {json.dumps(data, ensure_ascii=False)}")
        self.reply(request, 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def _qrcode(self, request: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        scene = ((payload.get("action_info") or {}).get("scene") or {}).get("scene_str", "")
        if payload.get("action_name") != "QR_STR_SCENE" or not 1 <= len(scene) <= 64:
            return self._error(request, 40053, "invalid action info")
        ticket = "gQ" + secrets.token_urlsafe(40)
        with self.lock:
            self.codes[ticket] = scene
        code = secrets.token_urlsafe(16)
        self.reply(
            request,
            200,
            {
                "ticket": ticket,
                "expire_seconds": payload.get("expire_seconds", 60),
                "url": f"http://weixin.qq.com/q/{code}",
            },
        )

    def _error(self, request: BaseHTTPRequestHandler, code: int, message: str) -> None:
        with self.lock:
            self.refused.append(code)
        self.reply(request, 200, {"errcode": code, "errmsg": message})
