"""The house rules of the import graph: no import circle between modules, and lower layers never
import higher ones. Imports inside functions count too: they run as soon as the function does."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "emotalk_cli"

#: Lowest first. A module may import its own part and the parts of lower layers, nothing else.
LAYERS = (
    {"errors", "resources", "cache", "__init__"},
    {"facs", "device"},
    {"artifacts"},
    {"audio", "splats", "rig"},
    {"photo_scene"},
    {"avatar"},
    {"render"},
    {"fit", "motion", "text2au"},
    {"doctor", "batch"},
    {"cli"},
    {"__main__"},
)


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def _exists(module: str) -> bool:
    path = PACKAGE.parent / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (`from pkg import submodule` counts as the submodule)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        edges = graph.setdefault(_module(path), set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name.split(".")[0] == "emotalk_cli")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "emotalk_cli":
                submodules = [f"{node.module}.{a.name}" for a in node.names if _exists(f"{node.module}.{a.name}")]
                edges.update(submodules if len(submodules) == len(node.names) else [node.module, *submodules])
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(module: str) -> int:
    [layer] = [i for i, parts in enumerate(LAYERS) if _part(module) in parts]
    return layer


def test_every_part_has_a_layer():
    parts = {_part(m) for m in import_graph()}
    assert parts <= set().union(*LAYERS), parts - set().union(*LAYERS)


def test_lower_layers_never_import_higher_ones():
    wrong = sorted((a, b) for a, edges in import_graph().items() for b in edges
                   if _part(a) != _part(b) and _layer(b) >= _layer(a))
    assert not wrong, "imports against the layers (importer, imported): " + ", ".join(f"{a} -> {b}" for a, b in wrong)


def test_no_import_circle():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"


def test_the_checks_see_a_circle_and_a_layer_breach(tmp_path, monkeypatch):
    """The graph reader itself: a made-up package with both faults is caught."""
    fake = tmp_path / "emotalk_cli"
    (fake / "rig").mkdir(parents=True)
    (fake / "render").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "rig" / "__init__.py").write_text("")
    (fake / "render" / "__init__.py").write_text("")
    (fake / "rig" / "a.py").write_text("def f():\n    from emotalk_cli.render import b\n")
    (fake / "render" / "b.py").write_text("from emotalk_cli.rig.a import f\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    graph = import_graph()
    assert graph["emotalk_cli.rig.a"] == {"emotalk_cli.render.b"}
    assert graph["emotalk_cli.render.b"] == {"emotalk_cli.rig.a"}
    for check in (test_lower_layers_never_import_higher_ones, test_no_import_circle):
        try:
            check()
        except AssertionError:
            continue
        raise AssertionError(f"{check.__name__} missed the fault")
