"""Use cases do not call one another: each returns the work its change implies, and the one
dispatcher runs the use cases and that work. Read from the sources' imports."""

from __future__ import annotations

import ast
from pathlib import Path

from profit_booking import usecases

USECASES = Path(usecases.__file__).parent
READS = {"positions", "request_answers", "batches"}  # the broker's reads, the answers' form: no use case
COMPOSING = {
    "dispatch": "the dispatcher",
    "steering": "the operator inbox, which hands each request to the dispatcher",
    "reconciling": "the startup reconciliation",
    "catching_up": "the startup catch-up, in rounds",
}


def sibling_imports(source: Path) -> set[str]:
    """The modules of ``usecases`` that ``source`` imports."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {alias.name for alias in node.names} if node.module is None else {node.module}
    return found


def test_a_use_case_imports_no_other_use_case():
    sources = {source.stem: source for source in USECASES.glob("*.py") if source.stem != "__init__"}
    assert set(COMPOSING) <= set(sources)
    for name, source in sources.items():
        if name not in COMPOSING:
            assert sibling_imports(source) <= READS, f"{name} imports {sibling_imports(source) - READS}"


def test_only_the_dispatcher_runs_the_changes_use_cases_of_the_running_engine():
    running = {"closing", "stopping", "cancelling", "hunting", "placing", "linking", "request_stops", "switching"}
    importers = {
        source.stem for source in USECASES.glob("*.py") if sibling_imports(source) & running
    }
    assert importers == {"dispatch", "reconciling", "catching_up"}  # the latter two: at startup only
