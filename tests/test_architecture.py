"""The import rules of ../shared/DESIGN.md, read from the source with `ast`: no import cycle, no import
from a lower layer to a higher one, only store/ importing chromadb, only frontends/ importing gradio,
typer, rich, fastapi or uvicorn.

Exceptions would be listed below by name; the lists are empty (issue 16) and may only stay so: a new
violation fails, and so does a listed exception that no longer exists."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"

# third-party libraries and the only modules that may import them
FRONT_END_LIBRARIES = {"gradio", "typer", "rich", "fastapi", "uvicorn"}
STORE_LIBRARIES = {"chromadb"}
FRONT_ENDS = ("assistant.frontends",)
STORES = ("assistant.store",)
# today's exceptions (none left: the CLI lives in frontends/cli/, the store alone imports chromadb)
LIBRARY_EXCEPTIONS: set[tuple[str, str]] = set()
# import cycles between modules of the package, as sorted pairs of their members; function-level
# imports count too, since they only hide a cycle
CYCLE_EXCEPTIONS: set[frozenset[str]] = set()

# DESIGN.md's one-way flow, frontends -> services -> {answer, fit, onboarding} -> retrieval -> store <-
# ingest, llm and core below all, core importing nothing of the package: for each package, the packages its
# modules may import (their own included). Anything not listed is a higher layer, so importing it is an
# upward import. Among the answer stages, fit uses answer's grounding check and onboarding uses fit's
# criteria; tools (evaluation, bench, doctor) sit under the services that run them.
_BASE = ("core", "resources")
_BELOW_ANSWER = (*_BASE, "llm", "store", "retrieval")
_BELOW_SERVICES = (*_BELOW_ANSWER, "ingest", "answer", "fit", "onboarding", "tools")
_LAYERS: dict[str, tuple[str, ...]] = {
    "core": ("core",),
    "resources": ("resources",),
    "llm": (*_BASE, "llm"),
    "store": (*_BASE, "store"),
    "ingest": (*_BASE, "store", "ingest"),
    "retrieval": (*_BASE, "store", "retrieval"),
    "answer": (*_BELOW_ANSWER, "answer"),
    "fit": (*_BELOW_ANSWER, "answer", "fit"),
    "onboarding": (*_BELOW_ANSWER, "answer", "fit", "onboarding"),
    "tools": _BELOW_SERVICES,
    "services": (*_BELOW_SERVICES, "services"),
    "frontends": (*_BELOW_SERVICES, "services", "frontends"),
    "cli": ("frontends",),  # `python -m assistant.cli`: the CLI's entry, nothing else
}
ALLOWED = {f"assistant.{layer}": tuple(f"assistant.{p}" for p in may) for layer, may in _LAYERS.items()}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every module a file imports, at any level of the file (absolute names). `from pkg import mod`
    depends on the module `mod`, not on the package's __init__."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
            submodules = [n for n in names if n in modules]
            found.update(submodules if len(submodules) == len(names) else [base, *submodules])
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        edges[name].update(imports_of(path, set(modules)))
    return {"modules": set(modules), **edges}  # type: ignore[dict-item]


def _internal(graph: dict, name: str) -> set[str]:
    modules = graph["modules"]
    return {t for t in graph.get(name, set()) if t in modules and t != name}


def test_front_end_and_store_libraries_are_imported_only_where_they_belong(graph):
    found = set()
    for name in graph["modules"]:
        for target in graph.get(name, set()):
            library = target.split(".")[0]
            if library in FRONT_END_LIBRARIES and not name.startswith(FRONT_ENDS):
                found.add((name, library))
            if library in STORE_LIBRARIES and not name.startswith(STORES):
                found.add((name, library))
    assert found - LIBRARY_EXCEPTIONS == set(), "import these only from frontends/ (or store/ for chromadb)"
    assert LIBRARY_EXCEPTIONS - found == set(), "an exception no longer happens: delete it from the list"


# what the store keeps to itself: its Chroma collection and client (other modules call its methods)
STORE_INTERNALS = {"collection", "_collection", "_chroma", "_get_all"}


def _store_internals_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in STORE_INTERNALS}


def test_only_the_store_touches_its_chroma_collection():
    wrong = {
        (name, attr)
        for path in PACKAGE.rglob("*.py")
        if not (name := module_name(path)).startswith(STORES)
        for attr in _store_internals_used(path)
    }
    assert wrong == set(), "use the store's public methods (assistant/store/chroma.py)"
    # the scan sees attribute access: the store itself does reach its collection
    assert "_collection" in _store_internals_used(PACKAGE / "store" / "chroma.py")


def cycles(graph: dict) -> set[frozenset[str]]:
    """The strongly connected groups of modules (more than one module each): every import cycle."""
    reach = {name: _reach(graph, name) for name in graph["modules"]}
    groups = set()
    for name, reached in reach.items():
        group = frozenset({name} | {o for o in reached if name in reach[o] and not _is_package_of(name, o)})
        if len(group) > 1:
            groups.add(group)
    return groups


def test_no_import_cycles_but_the_listed_ones(graph):
    found = cycles(graph)
    assert found - CYCLE_EXCEPTIONS == set()
    assert CYCLE_EXCEPTIONS - found == set(), "a listed cycle is gone: delete it from the list"


def _reach(graph: dict, start: str) -> set[str]:
    reached, frontier = set(), [start]
    while frontier:
        current = frontier.pop()
        for target in _internal(graph, current):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    return reached


def _is_package_of(a: str, b: str) -> bool:
    """A package's __init__ re-exporting its own modules is not a cycle between concepts."""
    return b.startswith(a + ".") or a.startswith(b + ".")


def _layer_of(name: str) -> str | None:
    return next((layer for layer in ALLOWED if name == layer or name.startswith(layer + ".")), None)


def test_every_module_has_a_layer(graph):
    # a new top-level module or package must take its place in the flow (ALLOWED) before the rules see it
    assert {n for n in graph["modules"] if n != "assistant" and _layer_of(n) is None} == set()


def _is_within(target: str, packages: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_layer_imports_a_higher_one(graph, layer):
    wrong = {
        (name, target)
        for name in graph["modules"]
        if _layer_of(name) == layer
        for target in _internal(graph, name)
        if target != "assistant" and not _is_within(target, ALLOWED[layer])
    }
    assert wrong == set(), f"{layer} may import only {ALLOWED[layer]}"


def test_the_layer_rule_sees_an_upward_import(graph):
    # the rule itself: an import of ingest from the store, or of anything from core, would be caught
    assert not _is_within("assistant.ingest.pipeline", ALLOWED["assistant.store"])
    assert not _is_within("assistant.store.chroma", ALLOWED["assistant.core"])
    assert _is_within("assistant.store.chroma", ALLOWED["assistant.ingest"])
    assert "assistant.store.chroma" in _internal(graph, "assistant.ingest.pipeline")


def test_the_rules_see_real_imports(graph):
    # the graph is read from the source: a check that found no edges would pass vacuously
    assert "assistant.answer.chain" in graph["modules"]
    assert "assistant.answer.grounding" in _internal(graph, "assistant.answer.chain")
    assert ("assistant.frontends.web.app", "gradio") in {
        (n, t.split(".")[0]) for n in graph["modules"] for t in graph.get(n, set())
    }
