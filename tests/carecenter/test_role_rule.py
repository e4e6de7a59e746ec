"""One rule for roles: the route declares them (`deps.allow`, `web.deps.page_allow`, `ManagerDep`);
a service checks only what depends on the record (its center, whose visit it is). A role check
written in a service is a second place to keep in step, so it fails here."""

import ast
from pathlib import Path

CARECENTER = Path(__file__).parents[2] / "carecenter"
ADAPTERS = ("api", "web")
DECLARING = ("deps.py", "access.py")


def test_no_service_checks_a_role() -> None:
    found = []
    for path in sorted(CARECENTER.rglob("*.py")):
        relative = path.relative_to(CARECENTER)
        if relative.parts[0] in ADAPTERS or str(relative) in DECLARING:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "require":
                found.append(f"{relative}:{node.lineno}")
    assert found == [], "declare the role on the route instead: " + ", ".join(found)


def test_the_rule_test_sees_a_role_check_where_one_is_written(tmp_path: Path) -> None:
    """The scan above is not vacuous: it finds the call it forbids."""
    tree = ast.parse("def f(actor):\n    actor.require(Role.admin, to='x')\n")
    assert any(isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "require" for n in ast.walk(tree))
