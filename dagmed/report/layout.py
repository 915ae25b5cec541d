"""A layered drawing of a directed graph: columns of boxes, edges routed between them.

The DAG and the model graph are drawn with it when Graphviz is not there; a layout is
points (1 unit = 1/72 inch), drawn onto a matplotlib axes by :func:`draw_layout`.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath

FONT_SIZE = 10.0
BOX_HEIGHT = 2.4 * FONT_SIZE  # points
BOX_PAD = 0.9 * FONT_SIZE  # text to border, each side
GAP = 7.0 * FONT_SIZE  # between columns: where edges change height
SPACING = 1.3 * FONT_SIZE  # between two items of a column
SLOT = 0.4 * FONT_SIZE  # the height of an edge passing through a column
MIN_WIDTH = 4.0 * FONT_SIZE


@dataclass(frozen=True)
class Box:
    """A node's box: centre ``x, y`` and size ``w, h``, in points."""

    x: float
    y: float
    w: float
    h: float

    def contains(self, px: float, py: float, margin: float = 0.0) -> bool:
        return abs(px - self.x) < self.w / 2 + margin and abs(py - self.y) < self.h / 2 + margin


@dataclass(frozen=True)
class Layout:
    """Boxes and edge paths of a layered drawing, in points (1 unit = 1/72 inch).

    Each edge leaves its source's right side and enters its target's left side; between
    columns it is a curve, and through a column it runs level in a slot of its own, so it
    never crosses a box (tested).
    """

    boxes: dict
    edges: dict  # (u, v) -> matplotlib.path.Path
    labels: dict
    width: float
    height: float


def text_width(label: str, size: float = FONT_SIZE) -> float:
    """The width of ``label`` in points, at font ``size``, in matplotlib's default font."""
    return TextPath((0, 0), label, size=size).get_extents().width


def layers(g: nx.DiGraph, order: dict, floors: dict, pull_sources: bool) -> dict:
    """Longest-path layers (each edge goes at least one layer right), at least ``floors``.

    ``pull_sources`` moves a node without parents next to its nearest child (parameters
    beside their node, rather than all in the first column).
    """
    topo = list(nx.lexicographical_topological_sort(g, key=order.__getitem__))
    layer = {}
    for n in topo:
        layer[n] = max([floors.get(n, 0)] + [layer[p] + 1 for p in g.predecessors(n)])
    if pull_sources:
        for n in topo:
            if g.in_degree(n) == 0 and g.out_degree(n) and n not in floors:
                layer[n] = min(layer[c] for c in g.successors(n)) - 1
    return layer


def _order_columns(columns: list, chains: dict, sweeps: int = 6) -> None:
    """Order each column (in place) by the barycentre of its neighbours, sweeping both ways."""
    nbr_in, nbr_out = {}, {}
    for chain in chains.values():
        for a, b in zip(chain, chain[1:]):
            nbr_out.setdefault(a, []).append(b)
            nbr_in.setdefault(b, []).append(a)

    def resort(col, nbrs, ref):
        pos = {item: i for i, item in enumerate(ref)}
        current = {item: i for i, item in enumerate(col)}

        def key(item):
            ps = [pos[x] for x in nbrs.get(item, []) if x in pos]
            return (sum(ps) / len(ps) if ps else current[item] * len(ref) / max(len(col), 1), current[item])

        col.sort(key=key)

    for _ in range(sweeps):
        for j in range(1, len(columns)):
            resort(columns[j], nbr_in, columns[j - 1])
        for j in range(len(columns) - 2, -1, -1):
            resort(columns[j], nbr_out, columns[j + 1])


def layered_layout(
    g: nx.DiGraph, labels: dict | None = None, floors: dict | None = None, pull_sources: bool = False
) -> Layout:
    """Columns of boxes, left to right along the edges, labels inside; edges routed around boxes.

    An edge that spans several columns passes each column in a slot of its own between the
    boxes (as in Sugiyama's method); each column is ordered to reduce crossings.

    Parameters
    ----------
    g : networkx.DiGraph
        Acyclic; node order is the initial order within a column.
    labels : dict, optional
        Node -> text (default: the node's name).
    floors : dict, optional
        Node -> the leftmost column it may be in.
    pull_sources : bool
        Put a node without parents just left of its nearest child.

    Examples
    --------
    >>> g = nx.DiGraph([("x", "t"), ("x", "y"), ("t", "m"), ("m", "y"), ("t", "y")])
    >>> lay = layered_layout(g)
    >>> [round(lay.boxes[n].x) for n in ("x", "t", "m", "y")]
    [20, 130, 240, 350]
    >>> path = lay.edges[("x", "y")]  # passes the columns of t and m beside them
    >>> any(lay.boxes[n].contains(*p) for n in ("t", "m") for p in path.interpolated(50).vertices)
    False
    """
    labels = labels or {}
    order = {n: i for i, n in enumerate(g.nodes)}
    layer = layers(g, order, floors or {}, pull_sources)
    n_cols = max(layer.values()) + 1 if layer else 0
    columns: list[list] = [[] for _ in range(n_cols)]
    for n in sorted(g.nodes, key=order.__getitem__):
        columns[layer[n]].append(n)
    chains = {}
    for u, v in g.edges:
        dummies = [("edge", u, v, j) for j in range(layer[u] + 1, layer[v])]
        for d in dummies:
            columns[d[3]].append(d)
        chains[(u, v)] = [u, *dummies, v]
    _order_columns(columns, chains)
    labels = {n: str(labels.get(n, n)) for n in g.nodes}
    width = {n: max(text_width(labels[n]) + 2 * BOX_PAD, MIN_WIDTH) for n in g.nodes}
    col_w = [max([width[n] for n in col if n in width] or [0.0]) for col in columns]
    col_x, x = [], 0.0
    for w in col_w:
        col_x.append(x + w / 2)
        x += w + GAP
    heights = [
        sum(SLOT if isinstance(i, tuple) else BOX_HEIGHT for i in col) + SPACING * (len(col) - 1) for col in columns
    ]
    total_h = max(heights, default=0.0)
    y_of = {}
    for col, h in zip(columns, heights):
        y = (total_h + h) / 2
        for item in col:
            size = SLOT if isinstance(item, tuple) else BOX_HEIGHT
            y_of[item] = y - size / 2
            y -= size + SPACING
    boxes = {n: Box(col_x[layer[n]], y_of[n], width[n], BOX_HEIGHT) for n in g.nodes}
    return Layout(boxes, _routes(chains, boxes, layer, col_x, col_w, y_of), labels, x - GAP, total_h)


def _ports(boxes: dict, chains: dict, y_of: dict) -> dict:
    """Where each edge leaves and enters its boxes: spread over the side, in the order of the far ends."""
    out, into = {}, {}
    for key, chain in chains.items():
        out.setdefault(chain[0], []).append((y_of[chain[1]], key))
        into.setdefault(chain[-1], []).append((y_of[chain[-2]], key))
    port = {}
    for side, groups in (("out", out), ("in", into)):
        for node, items in groups.items():
            box = boxes[node]
            items.sort(key=lambda t: -t[0])  # top first
            step = 0.6 * box.h / max(len(items) - 1, 1)
            top = box.y + (0.3 * box.h if len(items) > 1 else 0.0)
            for k, (_, key) in enumerate(items):
                port[(side, key)] = top - k * step
    return port


def _routes(chains: dict, boxes: dict, layer: dict, col_x: list, col_w: list, y_of: dict) -> dict:
    port = _ports(boxes, chains, y_of)
    routes = {}
    for key, chain in chains.items():
        u, v = chain[0], chain[-1]
        # level runs: (x_left, x_right, y), one per column the edge is in
        runs = [(boxes[u].x + boxes[u].w / 2, col_x[layer[u]] + col_w[layer[u]] / 2, port[("out", key)])]
        runs += [(col_x[d[3]] - col_w[d[3]] / 2, col_x[d[3]] + col_w[d[3]] / 2, y_of[d]) for d in chain[1:-1]]
        runs.append((col_x[layer[v]] - col_w[layer[v]] / 2, boxes[v].x - boxes[v].w / 2, port[("in", key)]))
        verts, codes = [(runs[0][0], runs[0][2])], [MplPath.MOVETO]
        for j, (x0, x1, y) in enumerate(runs):
            if j:  # a curve across the gap from the previous run's right end
                xp, yp = verts[-1]
                verts += [((xp + x0) / 2, yp), ((xp + x0) / 2, y), (x0, y)]
                codes += [MplPath.CURVE4] * 3
            if x1 > x0 + 1e-9:
                verts.append((x1, y))
                codes.append(MplPath.LINETO)
        routes[key] = MplPath(verts, codes)
    return routes


def draw_layout(ax, lay: Layout, fill: dict, dashed=()) -> None:
    """Draw ``lay`` on ``ax`` (1 data unit = 1 point): edges under boxes, labels inside."""
    for path in lay.edges.values():
        ax.add_patch(
            FancyArrowPatch(
                path=path, arrowstyle="-|>", mutation_scale=10, lw=1.0, color="#555555", shrinkA=0, shrinkB=0, zorder=1
            )
        )
    for n, b in lay.boxes.items():
        ax.add_patch(
            FancyBboxPatch(
                (b.x - b.w / 2, b.y - b.h / 2),
                b.w,
                b.h,
                boxstyle="round,pad=0,rounding_size=6",
                facecolor=fill[n],
                edgecolor="black",
                lw=1.2,
                ls="--" if n in dashed else "-",
                zorder=2,
            )
        )
        ax.text(b.x, b.y, lay.labels[n], ha="center", va="center", fontsize=FONT_SIZE, zorder=3)
    ax.set_xlim(-10, lay.width + 10)
    ax.set_ylim(-10, lay.height + 10)
    ax.set_aspect("equal")
    ax.axis("off")
