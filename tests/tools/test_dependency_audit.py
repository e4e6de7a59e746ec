"""The dependency audit against a local stand-in of PyPI's JSON API (never the internet)."""

import importlib.metadata
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tools.dependency_audit import Package, Report, audit, installed_packages, main, project_settings

ADVISORY = {
    "id": "GHSA-aaaa-bbbb-cccc",
    "aliases": ["CVE-2026-0001", "PYSEC-2026-1"],
    "fixed_in": ["2.0.1"],
    "link": "https://osv.dev/vulnerability/GHSA-aaaa-bbbb-cccc",
    "withdrawn": None,
}


class FakeIndex:
    """Project records (`/pypi/NAME/json`) and, where given, exact-release records."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.releases: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.status: dict[str, int] = {}  # name -> forced HTTP status

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        name = parts[1]
        if name in self.status:
            return self.status[name], {}
        if len(parts) == 4 and (name, parts[2]) in self.releases:
            return 200, {"info": {"version": parts[2]}, "vulnerabilities": self.releases[name, parts[2]]}
        if len(parts) == 3 and name in self.latest:
            version, advisories = self.latest[name]
            return 200, {"info": {"version": version}, "vulnerabilities": advisories}
        return 404, {"message": "Not Found"}

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            status, body = self.answer(request.url.path)
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handle)


def run(index: FakeIndex, packages: list[Package], accepted: dict[str, str] | None = None) -> Report:
    with httpx.Client(transport=index.transport()) as client:
        return audit(client, "https://index.test", packages, accepted or {})


def test_packages_at_their_latest_release_without_advisories_pass() -> None:
    index = FakeIndex()
    index.latest = {"fastapi": ("1.2.0", []), "jinja2": ("3.1.6", [])}
    report = run(index, [Package("fastapi", "1.2.0"), Package("jinja2", "3.1.6")])
    assert not report.failed
    assert report.lines[0] == (
        "2 packages: 0 checked by exact release, 2 at their latest release, 0 not audited, 0 advisories"
    )
    assert report.lines[-1] == "dependency audit passed"


def test_an_advisory_on_the_installed_latest_release_fails_and_names_the_fix() -> None:
    index = FakeIndex()
    withdrawn = {**ADVISORY, "id": "GHSA-zzzz-zzzz-zzzz", "withdrawn": "2026-01-01T00:00:00Z"}
    index.latest = {"somelib": ("2.0.0", [ADVISORY, withdrawn])}
    report = run(index, [Package("somelib", "2.0.0")])
    assert report.failed
    assert (
        "VULNERABLE somelib==2.0.0: GHSA-aaaa-bbbb-cccc (CVE-2026-0001, PYSEC-2026-1), fixed in 2.0.1 "
        "https://osv.dev/vulnerability/GHSA-aaaa-bbbb-cccc"
    ) in report.lines
    assert not any("GHSA-zzzz" in line for line in report.lines), "a withdrawn advisory is not a finding"
    assert report.lines[-1] == "dependency audit FAILED"


def test_the_exact_release_record_is_used_where_the_index_has_it() -> None:
    index = FakeIndex()
    index.latest = {"somelib": ("2.0.1", [])}  # the latest is clean; the installed older one is not
    index.releases = {("somelib", "1.9.0"): [ADVISORY]}
    report = run(index, [Package("somelib", "1.9.0")])
    assert report.failed
    assert report.lines[0].startswith("1 packages: 1 checked by exact release, 0 at their latest release")
    assert any(line.startswith("VULNERABLE somelib==1.9.0: GHSA-aaaa-bbbb-cccc") for line in report.lines)


def test_a_package_that_cannot_be_checked_fails_like_a_vulnerable_one() -> None:
    index = FakeIndex()
    index.latest = {"behind": ("2.0.0", []), "flaky": ("1.0", [])}
    index.status = {"flaky": 503}
    report = run(index, [Package("behind", "1.0.0"), Package("flaky", "1.0"), Package("private-pkg", "0.1")])
    assert report.failed
    assert "NOT AUDITED behind==1.0.0: the index has advisories only for the latest release (2.0.0) here" in (
        report.lines
    )
    assert "NOT AUDITED flaky==1.0: the index answered 503 for the release" in report.lines
    assert "NOT AUDITED private-pkg==0.1: not on the index" in report.lines


def test_an_index_that_does_not_answer_is_not_a_pass() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        report = audit(client, "https://index.test", [Package("fastapi", "1.2.0")], {})
    assert report.failed
    assert "NOT AUDITED fastapi==1.2.0: the index did not answer (ConnectError)" in report.lines


def test_accepted_findings_pass_with_their_reason_and_stale_acceptances_are_pointed_out() -> None:
    index = FakeIndex()
    index.latest = {"somelib": ("2.0.0", [ADVISORY]), "behind": ("2.0.0", [])}
    accepted = {
        "CVE-2026-0001": "only the CLI is affected; we import the parser",  # an alias of the advisory
        "behind==1.0.0": "test-only, pinned by the fuzzer",
        "oldlib==0.1": "was needed once",
    }
    report = run(index, [Package("somelib", "2.0.0"), Package("behind", "1.0.0")], accepted)
    assert not report.failed
    assert any(
        line.startswith("VULNERABLE somelib==2.0.0: GHSA-aaaa-bbbb-cccc")
        and line.endswith("[accepted: only the CLI is affected; we import the parser]")
        for line in report.lines
    )
    assert any(line.endswith("[accepted: test-only, pinned by the fuzzer]") for line in report.lines)
    assert "note: the acceptance of oldlib==0.1 matches nothing installed; remove it" in report.lines


def test_installed_packages_are_listed_once_by_canonical_name_without_the_project() -> None:
    packages = installed_packages(skip=["CareCenter"])
    names = [p.name for p in packages]
    assert len(names) == len(set(names))
    assert "carecenter" not in names
    assert Package("pydantic-settings", importlib.metadata.version("pydantic_settings")) in packages


def test_the_projects_acceptances_come_from_pyproject() -> None:
    project, accepted = project_settings()
    assert project == "carecenter"
    assert all(reason.strip() for reason in accepted.values()), "every acceptance says why"


@pytest.fixture
def index_server() -> Iterator[tuple[str, FakeIndex]]:
    index = FakeIndex()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = index.answer(self.path)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", index
    server.shutdown()
    server.server_close()


def test_the_command_audits_this_environment_and_exits_1_on_a_finding(
    index_server: tuple[str, FakeIndex], capsys: pytest.CaptureFixture[str]
) -> None:
    url, index = index_server
    index.latest = {p.name: (p.version, []) for p in installed_packages()}
    assert main(["--index", url]) == 0
    assert capsys.readouterr().out.rstrip().endswith("dependency audit passed")

    index.latest["httpx"] = (index.latest["httpx"][0], [ADVISORY])
    assert main(["--index", url]) == 1
    out = capsys.readouterr().out
    assert f"VULNERABLE httpx=={importlib.metadata.version('httpx')}: GHSA-aaaa-bbbb-cccc" in out
    assert out.rstrip().endswith("dependency audit FAILED")
