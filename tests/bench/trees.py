"""Tree files for the benchmarks, written to a temporary directory.

    demo_text(direct_to_leaf=True)  the demo tree (examples/demo-tree.toml),
                                    optionally with `direct_to_leaf = true`
                                    on its top cell
    fanout_text(routers, leaves)    top -> `routers` routers -> `leaves` leaf
                                    cells under each, every leaf one big fake
                                    host (room for any number of instances);
                                    fanout_text(2, 2) is the demo tree's shape
                                    with fake leaves
    write_tree(text, directory)     write a tree file and load it
"""

from __future__ import annotations

from pathlib import Path

from cellops.tree_spec import TreeSpec, load_tree

DEMO_TREE = Path("examples/demo-tree.toml")
# One host per leaf in the fan-out trees, large enough never to run out.
BIG_HOST = {"vcpus": 100_000, "memory_mb": 100_000_000, "disk_gb": 1_000_000}


def demo_text(direct_to_leaf: bool = False) -> str:
    """The demo tree's text; with direct_to_leaf, that setting on the top cell."""
    text = DEMO_TREE.read_text()
    if not direct_to_leaf:
        return text
    lines = text.splitlines(keepends=True)
    try:
        at = next(n for n, line in enumerate(lines) if line.strip() == "[cells.top]")
    except StopIteration:
        raise ValueError(f"{DEMO_TREE} has no [cells.top] table") from None
    lines.insert(at + 1, "direct_to_leaf = true\n")
    return "".join(lines)


def fanout_text(routers: int, leaves_per_router: int, report_interval: float = 0.5,
                direct_to_leaf: bool = False) -> str:
    """top -> r1..rN -> rI-l1..rI-lM, each leaf a fake driver with one big host;
    with direct_to_leaf, that setting on the top cell."""
    lines = [
        "[tree]",
        'host = "127.0.0.1"',
        f"report_interval = {report_interval}",
        "down_after = 4",
        "insecure = true",
        "",
        "[cells.top]",
    ]
    if direct_to_leaf:
        lines.append("direct_to_leaf = true")
    for r in range(1, routers + 1):
        router = f"r{r}"
        lines += ["", f"[cells.{router}]", 'parent = "top"']
        for leaf_no in range(1, leaves_per_router + 1):
            leaf = f"{router}-l{leaf_no}"
            host = ", ".join(f"{k} = {v}" for k, v in BIG_HOST.items())
            lines += [
                "",
                f"[cells.{leaf}]",
                f'parent = "{router}"',
                'driver = "fake"',
                f'hosts = [{{ name = "{leaf}-h1", {host} }}]',
            ]
    return "\n".join(lines) + "\n"


def write_tree(text: str, directory: Path, name: str = "tree.toml") -> TreeSpec:
    path = directory / name
    path.write_text(text)
    return load_tree(path)


def leaf_paths(spec: TreeSpec) -> list[str]:
    """The full paths of the tree's leaf cells, in file order."""
    paths = spec.paths()
    return [paths[c.name] for c in spec.cells if c.driver]
