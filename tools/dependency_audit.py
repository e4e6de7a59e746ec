"""`python -m tools.dependency_audit`: every installed package checked against PyPI's vulnerability
records; exits 1 on a known vulnerability or on a package it could not check.

PyPI attaches OSV's advisories to each release (what pip-audit's default service reads). pip-audit
asks for the exact release (`/pypi/NAME/VERSION/json`) or asks osv.dev; the registry our CI reaches
answers neither, so pip-audit there reports every package "could not be audited" and passes. It
does answer the project record (`/pypi/NAME/json`), which carries the advisories of the latest
release, and a fresh install is at the latest release unless something pins it back. So: the exact
release where the index has it, else the project record when the installed version is the latest,
else the package is reported as not audited, which fails like a vulnerability does. A finding that
has been looked at and accepted is listed with its reason under
`[tool.carecenter.dependency-audit.accepted]` in pyproject.toml, keyed by advisory id (or any of
its aliases) or by `name==version`, and is printed on every run.
"""

import argparse
import importlib.metadata
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PYPI = "https://pypi.org"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@dataclass(frozen=True)
class Package:
    name: str  # canonical (PEP 503)
    version: str

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    link: str

    def describe(self) -> str:
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        fixed = f"fixed in {', '.join(self.fixed_in)}" if self.fixed_in else "no fixed release"
        return f"{self.id}{aliases}, {fixed} {self.link}".rstrip()


@dataclass
class Result:
    package: Package
    advisories: list[Advisory] = field(default_factory=list)
    source: str = ""  # "exact release" or "latest release" when audited
    not_audited: str | None = None  # why the package could not be checked


def installed_packages(skip: Iterable[str] = ()) -> list[Package]:
    """The distributions importable here, once each, without the ones named in `skip`."""
    skipped = {canonicalize_name(name) for name in skip}
    found: dict[str, Package] = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        if name and name not in skipped:
            found.setdefault(name, Package(name, dist.version))
    return sorted(found.values(), key=lambda p: p.name)


def _advisories(record: Mapping[str, Any]) -> list[Advisory]:
    return [
        Advisory(
            id=str(entry.get("id", "?")),
            aliases=tuple(entry.get("aliases") or ()),
            fixed_in=tuple(entry.get("fixed_in") or ()),
            link=str(entry.get("link") or ""),
        )
        for entry in record.get("vulnerabilities") or ()
        if not entry.get("withdrawn")
    ]


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def check(client: httpx.Client, index: str, package: Package) -> Result:
    result = Result(package)
    try:
        exact = client.get(f"{index}/pypi/{package.name}/{package.version}/json")
        if exact.status_code == 200:
            result.advisories, result.source = _advisories(exact.json()), "exact release"
            return result
        project = client.get(f"{index}/pypi/{package.name}/json")
    except httpx.HTTPError as error:
        result.not_audited = f"the index did not answer ({type(error).__name__})"
        return result
    if exact.status_code != 404:
        result.not_audited = f"the index answered {exact.status_code} for the release"
    elif project.status_code == 404:
        result.not_audited = "not on the index"
    elif project.status_code != 200:
        result.not_audited = f"the index answered {project.status_code}"
    else:
        record = project.json()
        latest = str(record.get("info", {}).get("version", ""))
        if _same_version(package.version, latest):
            result.advisories, result.source = _advisories(record), "latest release"
        else:
            result.not_audited = f"the index has advisories only for the latest release ({latest}) here"
    return result


@dataclass
class Report:
    results: list[Result]
    accepted: Mapping[str, str]
    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def __post_init__(self) -> None:
        used: set[str] = set()
        for result in self.results:
            pin = result.package.pin
            if result.not_audited is not None:
                self._finding(pin, f"NOT AUDITED {pin}: {result.not_audited}", used)
            for advisory in result.advisories:
                key = next((k for k in (advisory.id, *advisory.aliases) if k in self.accepted), pin)
                self._finding(key, f"VULNERABLE {pin}: {advisory.describe()}", used)
        for key in sorted(set(self.accepted) - used):
            self.lines.append(f"note: the acceptance of {key} matches nothing installed; remove it")
        by_source = {
            source: sum(1 for r in self.results if r.source == source) for source in ("exact release", "latest release")
        }
        self.lines.insert(
            0,
            f"{len(self.results)} packages: {by_source['exact release']} checked by exact release, "
            f"{by_source['latest release']} at their latest release, "
            f"{sum(1 for r in self.results if r.not_audited)} not audited, "
            f"{sum(len(r.advisories) for r in self.results)} advisories",
        )
        self.lines.append("dependency audit " + ("FAILED" if self.failed else "passed"))

    def _finding(self, key: str, line: str, used: set[str]) -> None:
        reason = self.accepted.get(key)
        if reason is None:
            self.failed = True
            self.lines.append(line)
        else:
            used.add(key)
            self.lines.append(f"{line} [accepted: {reason}]")


def audit(client: httpx.Client, index: str, packages: Sequence[Package], accepted: Mapping[str, str]) -> Report:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda package: check(client, index, package), packages))
    return Report(results, accepted)


def project_settings(pyproject: Path = PYPROJECT) -> tuple[str, dict[str, str]]:
    """The project's own name (not on the index) and the accepted findings."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    settings = data.get("tool", {}).get("carecenter", {}).get("dependency-audit", {})
    return data["project"]["name"], {str(k): str(v) for k, v in settings.get("accepted", {}).items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dependency_audit", description=__doc__.split("\n")[0])
    parser.add_argument("--index", default=PYPI, help="the package index's JSON API (default: %(default)s)")
    args = parser.parse_args(argv)
    project, accepted = project_settings()
    transport = httpx.HTTPTransport(retries=2)
    with httpx.Client(transport=transport, timeout=30, follow_redirects=True) as client:
        report = audit(client, args.index.rstrip("/"), installed_packages(skip=[project]), accepted)
    print("\n".join(report.lines))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
