"""The package's import graph, one box per top-level package of assistant/, one arrow per package that
imports another (the number: how many of its modules do): `python scripts/draw_architecture.py [PNG]`
(default docs/architecture.png). Imports are read with `ast`, as tests/test_architecture.py reads them;
the arrows into core/ and resources/ (every layer uses them) are counted under their boxes instead."""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "assistant"
# DESIGN.md's layers, top to bottom: an arrow may only run down a row or along one
ROWS = [
    ["frontends"],
    ["services"],
    ["tools", "onboarding", "fit", "answer"],
    ["retrieval", "ingest"],
    ["store", "llm"],
    ["core", "resources"],
]
BASE = {"core", "resources"}


def package_edges() -> Counter[tuple[str, str]]:
    """(importer, imported) package pairs, counted by the importing modules."""
    edges: Counter[tuple[str, str]] = Counter()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        source, targets = parts[0], set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                module = node.module
                names = [f"{module}.{a.name}" for a in node.names] if module == "assistant" else [module]
            targets.update(n.split(".")[1] for n in names if n.startswith("assistant."))
        for target in targets - {source}:
            edges[(source, target)] += 1
    return edges


def draw(out: Path) -> None:
    edges = package_edges()
    place = {
        name: (1.6 * (x - (len(row) - 1) / 2), -y) for y, row in enumerate(ROWS) for x, name in enumerate(row)
    }
    fig, ax = plt.subplots(figsize=(9, 6.6), dpi=100)
    for (source, target), count in sorted(edges.items()):
        if target in BASE or source not in place or target not in place:
            continue
        (x0, y0), (x1, y1) = place[source], place[target]
        upward = y1 > y0
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#c0392b" if upward else "#5d6d7e",
                "lw": 0.6 + 0.25 * min(count, 8),
                "shrinkA": 16,
                "shrinkB": 16,
                "connectionstyle": "arc3,rad=0.06",
            },
        )
        ax.text(0.4 * x0 + 0.6 * x1, 0.4 * y0 + 0.6 * y1, str(count), fontsize=7, color="#5d6d7e")
    for name, (x, y) in place.items():
        users = sum(c for (s, t), c in edges.items() if t == name)
        label = f"{name}/" + (f"\n(used by {users} modules)" if name in BASE else "")
        ax.text(x, y, label, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.5", "fc": "#d6e4f0", "ec": "#34495e"}, zorder=3)  # fmt: skip
    upward = sum(1 for (s, t) in edges if s in place and t in place and place[t][1] > place[s][1])
    ax.set_title(f"assistant/: package imports (arrows into core/ and resources/ left out); upward: {upward}")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-len(ROWS) + 0.5, 0.5)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out)
    print(f"{out}: {len(edges)} package pairs, {upward} upward")


if __name__ == "__main__":
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "architecture.png")
