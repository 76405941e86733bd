"""Import rules import-linter cannot express (it sees modules, not names): no app imports another
app's private names (``_name``). Within an app, modules may share private helpers.

The layer and "selectors never import services" contracts are in pyproject.toml (``make lint``).
"""

from __future__ import annotations

import ast
from pathlib import Path

APPS = Path(__file__).resolve().parents[2] / "apps"


def _private_imports_across_apps() -> list[str]:
    found = []
    for path in sorted(APPS.rglob("*.py")):
        app = path.relative_to(APPS).parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            parts = node.module.split(".")
            if parts[0] != "apps" or len(parts) < 2 or parts[1] == app:
                continue
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            private_module = any(p.startswith("_") and not p.startswith("__") for p in parts[2:])
            if private or private_module:
                where = f"{path.relative_to(APPS.parent)}:{node.lineno}"
                found.append(f"{where}: from {node.module} import {', '.join(private or [a.name for a in node.names])}")
    return found


def test_no_app_imports_another_apps_private_names():
    # when
    found = _private_imports_across_apps()

    # then
    assert found == [], "Make the name public (and document it) or move the code:\n" + "\n".join(found)


def test_the_rule_sees_a_private_import(tmp_path, monkeypatch):
    # given: an app module importing another app's private helper
    app = tmp_path / "apps" / "reports"
    app.mkdir(parents=True)
    (app / "services.py").write_text("from apps.sync.services import _scrub\nfrom apps.reports.util import _ok\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["APPS"]), "APPS", tmp_path / "apps")

    # when
    found = _private_imports_across_apps()

    # then: the import across apps is found, the one inside the app is not
    assert found == ["apps/reports/services.py:1: from apps.sync.services import _scrub"]
