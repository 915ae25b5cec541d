"""The pictures of a run (ArviZ and matplotlib): every one titled and labelled.

Each picture is a ``matplotlib.figure.Figure`` of its own, written as PNG: pyplot and its
backend are never touched, so importing or using this module leaves a notebook's backend
as it was.

Each function draws from what a run directory holds (``idata.nc``, ``effects.json`` and
the spec) so that ``dagmed plot DIR`` redraws them without refitting. An optional renderer
that is missing (Graphviz ``dot``) never fails a run: the picture falls back to a drawing
that needs nothing outside Python, and the skip is reported.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import compat
from ..effects.kinds import IIE, TE, Effect, kind_of
from ..lang.vocabulary import SCALES
from ..model.compiler import build, data_nodes
from ..model.draws import Draws
from . import prose
from .layout import FONT_SIZE, Layout, draw_layout, layered_layout, layers
from .progress import progress

ROLE_COLOURS = {
    "covariate": "#d9d9d9",
    "treatment": "#fdb863",
    "mediator": "#a6dba0",
    "outcome": "#b2abd2",
    "other": "#fee391",
    "latent": "#ffffff",
}
MODEL_COLOURS = {"observed node": "#9ecae1", "parameter": "#fdd0a2", "covariate data": "#eeeeee"}
DPI = 110
# The trace plot as arviz.plot_trace(compact=True) draws it at its text size 10: chains by line
# style, line width and title size scaled by 10/14.
CHAIN_STYLES = ("solid", "dotted", "dashed", "dashdot")
TRACE_LW = 1.5 * 10 / 14
TRACE_TITLE = 16 * 10 / 14
TRACE_POINTS = 500  # at most this many draws per chain in a trace panel (about its width in pixels)
# zlib level 3 instead of PIL's 6: the PNG encoding takes two thirds of the time and the files
# of a run come out no larger (measured on the substance run's pictures)
PNG = {"compress_level": 3}


def _figure(**kwargs) -> Figure:
    """A figure of its own (not pyplot's: nothing global to close), at the DPI it is written at."""
    return Figure(dpi=DPI, **kwargs)


def _save(fig, path: Path, crop: bool = False) -> Path:
    """Lay ``fig`` out and write it as PNG, drawing it once.

    ``crop``: cut the figure to what it holds (a legend or a title outside the axes), which
    takes a second, measuring pass. Otherwise the subplots are laid out by ``tight_layout``
    and the figure is written whole; the layout engine ``tight_layout`` leaves behind is
    removed, as it too would make ``savefig`` draw twice.
    """
    if crop:
        fig.savefig(path, dpi=DPI, bbox_inches="tight", pil_kwargs=PNG)
    else:
        fig.tight_layout()
        fig.set_layout_engine(None)
        fig.savefig(path, dpi=DPI, pil_kwargs=PNG)
    return path


# ---- the causal DAG and the model graph, drawn in layers -------------------------------------


def _layered_figure(lay: Layout, title: str, legend: dict):
    """A figure whose axes map one data unit to one point, a title above and a legend of fills below."""
    fig = _figure(figsize=((lay.width + 20) / 72, (lay.height + 20) / 72))
    ax = fig.add_axes([0, 0, 1, 1])
    handles = [
        Patch(facecolor=c, edgecolor="black", label=r, ls="--" if r == "latent" else "-") for r, c in legend.items()
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(handles),
        frameon=False,
        fontsize=FONT_SIZE - 1,
    )
    ax.set_title(title, fontsize=FONT_SIZE + 2)
    return fig, ax


def dag_layout(analysis) -> Layout:
    """The DAG's layout: covariates, treatment, mediators (in layers of their own sub-DAG), outcome.

    Examples
    --------
    >>> import dagmed
    >>> a = dagmed.check(dagmed.parse("treatment t\\noutcome y\\nx -> t, m, y\\nz -> y\\nt -> m -> y\\nt -> y\\nt, m, y ~ bernoulli\\n"))
    >>> lay = dag_layout(a)
    >>> sorted(lay.boxes, key=lambda n: lay.boxes[n].x)[:2], lay.boxes["z"].x < lay.boxes["t"].x
    (['x', 'z'], True)
    """
    g = analysis.graph
    roles = dict(g.nodes(data="role"))
    # the treatment right of every covariate, even one that is not its parent
    base = layers(g, {n: i for i, n in enumerate(g.nodes)}, {}, pull_sources=False)
    upstream = [n for n in g.nodes if roles[n] in ("covariate", "latent") and not nx.has_path(g, analysis.treatment, n)]
    floors = {analysis.treatment: 1 + max(base[n] for n in upstream)} if upstream else {}
    return layered_layout(g, floors=floors)


def dag(analysis, path: Path) -> Path:
    """The spec's DAG in layers, left to right: covariates, treatment, mediators, outcome.

    Nodes are boxes coloured by role with their names inside; an edge that skips a layer
    is routed between the boxes of that layer, never through one. Latent nodes are dashed.
    """
    g = analysis.graph
    roles = dict(g.nodes(data="role"))
    lay = dag_layout(analysis)
    used = {r: c for r, c in ROLE_COLOURS.items() if r in set(roles.values())}
    fig, ax = _layered_figure(lay, f"Causal DAG: {analysis.treatment} -> {analysis.outcome}", used)
    draw_layout(
        ax, lay, {n: ROLE_COLOURS[roles[n]] for n in g.nodes}, dashed=[n for n in g.nodes if not g.nodes[n]["observed"]]
    )
    return _save(fig, path, crop=True)


def model_graph(model, path: Path, log) -> Path:
    """The generative model's graph, the data's nodes filled: Graphviz's ``dot`` when installed, else drawn here.

    ``model`` is :func:`dagmed.model.compiler.build`'s: it needs no data, so a run and a redraw
    from its directory draw the same picture.
    """
    import pymc as pm
    from pymc.model_graph import ModelGraph

    observed = set(data_nodes(model)) - {v.name for v in model.data_vars}
    if shutil.which("dot"):
        from pymc.model_graph import NodeType, default_free_rv, default_observed_rv

        def free_rv(var):  # the nodes the data supply are drawn as PyMC draws observed ones
            return (default_observed_rv if var.name in observed else default_free_rv)(var)

        gv = pm.model_to_graphviz(model, node_formatters={NodeType.FREE_RV: free_rv})
        gv.render(outfile=str(path), format="png", cleanup=True)
        return path
    log(
        "plots: model_graph.png drawn without Graphviz; for Graphviz's layout install its dot program "
        "(apt install graphviz, brew install graphviz or conda install graphviz)"
    )
    deps = ModelGraph(model).make_compute_graph()
    g = nx.DiGraph()
    for child in model.named_vars:  # creation order: the initial order within each column
        if child in deps:
            g.add_node(child)
    for child, parents in deps.items():
        g.add_edges_from((p, child) for p in parents if p in g)
    data = {v.name for v in model.data_vars}
    kind = {n: "observed node" if n in observed else "covariate data" if n in data else "parameter" for n in g.nodes}
    lay = layered_layout(g, pull_sources=True)
    fig, ax = _layered_figure(lay, "Generative PyMC model", MODEL_COLOURS)
    draw_layout(ax, lay, {n: MODEL_COLOURS[kind[n]] for n in g.nodes})
    return _save(fig, path, crop=True)


def data_distributions(idata, path: Path) -> Path:
    """Each variable's distribution: bars for 0/1 columns, histograms otherwise."""
    cols = _columns(idata)
    n = len(cols)
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    fig = _figure(figsize=(4 * ncol, 3 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax, (name, v) in zip(axes.flat, cols.items()):
        v = np.asarray(v, dtype=float)
        if set(np.unique(v)) <= {0.0, 1.0}:
            counts = [(v == 0).sum(), (v == 1).sum()]
            ax.bar(["0", "1"], counts, color="#1b9e77")
            ax.set_ylabel("count")
        else:
            ax.stairs(*np.histogram(v, bins=20), fill=True, color="#7570b3")
            ax.set_ylabel("count")
        ax.set_title(name)
        ax.set_xlabel("value")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Data: distribution of each variable")
    return _save(fig, path)


def rates_by_treatment(idata, doc, path: Path) -> Path:
    """Outcome and mediator means by treatment group (binary treatment), else scatter on the treatment."""
    t = doc["treatment"]
    obs = {k: np.asarray(v, float) for k, v in _columns(idata).items()}
    tv = obs[t]
    nodes = [*doc["mediators"], doc["outcome"]]
    if set(np.unique(tv)) <= {0.0, 1.0}:
        fig = _figure(figsize=(7, 4))
        ax = fig.subplots()
        x = np.arange(len(nodes))
        for j, level in enumerate((0, 1)):
            means = [obs[n][tv == level].mean() for n in nodes]
            ax.bar(x + (j - 0.5) * 0.38, means, width=0.38, label=f"{t} = {level}", color=["#bdbdbd", "#d95f02"][j])
        ax.set_xticks(x, nodes)
        ax.set_ylabel("observed mean (rate)")
        ax.set_title(f"Mediator and outcome rates by {t}")
        ax.legend()
    else:
        fig = _pair_grid({c: obs[c] for c in [t, *nodes]}, "Pair plot of the data", medians=False)
    return _save(fig, path)


def _predictive_means(idata, group):
    out = {}
    ds = compat.group(idata, group)
    for name in ds.data_vars:
        v = ds[name].values
        out[name] = v.reshape(-1, v.shape[-1]).mean(axis=1)
    return out


def predictive_check(idata, group: str, path: Path, title: str) -> Path:
    """Distribution of simulated means per variable against the observed mean (red line)."""
    means = _predictive_means(idata, group)
    n = len(means)
    fig = _figure(figsize=(3.6 * n, 3.2))
    axes = fig.subplots(1, n, squeeze=False)
    for ax, (name, m) in zip(axes.flat, means.items()):
        ax.stairs(*np.histogram(m, bins=30), fill=True, color="#9ecae1")  # one patch, not a bar per bin
        ax.axvline(
            float(np.mean(compat.group(idata, "observed_data")[name].values)), color="red", lw=2, label="observed"
        )
        ax.set_title(name)
        ax.set_xlabel("mean of a simulated data set")
        ax.set_ylabel("count")
    axes.flat[0].legend()
    fig.suptitle(title)
    return _save(fig, path)


def trace(idata, path: Path) -> Path:
    """Each parameter by chain: its density (left) and its draws (right), as ``arviz.plot_trace(compact=True)``.

    A variable's coordinates share a panel in colours of their own; chains differ by line
    style. Drawn with one line collection per panel (arviz draws a line, and an invisible
    fill, per chain and coordinate). The draws panel shows at most :data:`TRACE_POINTS` draws
    per chain, every k-th: the panel is narrower in pixels than that; densities use every
    draw. Divergent draws are marked at the bottom of both panels.
    """
    from matplotlib.collections import LineCollection

    post = compat.group(idata, "posterior")
    names_ = list(post.data_vars)
    draws = post["draw"].values
    step = max(1, -(-draws.size // TRACE_POINTS))
    diverging = _divergences(idata)
    fig = _figure(figsize=(11, 2.0 * len(names_)))
    for (left, right), name in zip(fig.subplots(len(names_), 2, squeeze=False), names_):
        da = post[name]
        x = da.transpose("chain", "draw", ...).values.reshape(da.sizes["chain"], draws.size, -1)
        densities, lines, colours, styles = [], [], [], []
        for k in range(x.shape[2]):
            for c in range(x.shape[0]):
                densities.append(np.column_stack(compat.kde(x[c, :, k])))
                lines.append(np.column_stack([draws[::step], x[c, ::step, k]]))
                colours.append(f"C{k % 10}")
                styles.append(CHAIN_STYLES[c % len(CHAIN_STYLES)])
        left.add_collection(LineCollection(densities, colors=colours, linestyles=styles, linewidths=TRACE_LW))
        right.add_collection(LineCollection(lines, colors=colours, linestyles=styles, linewidths=TRACE_LW, alpha=0.35))
        for ax in (left, right):
            ax.autoscale_view()
            ax.set_title(name, fontsize=TRACE_TITLE)
            ax.tick_params(labelsize=FONT_SIZE)
        left.set_ylim(0, None)
        left.set_yticks([])
        right.set_xlim(draws.min(), draws.max())
        if diverging is not None and diverging.any():
            marks = dict(marker="|", color="black", markeredgewidth=1.5, markersize=30, linestyle="None", alpha=0.35)
            chain, at = np.nonzero(diverging)
            left.plot(x[chain, at].reshape(-1), np.zeros(chain.size * x.shape[2]), **marks)
            right.plot(draws[at], np.full(at.size, right.get_ylim()[0]), **marks)
    fig.suptitle("Trace plots (left: posterior by chain, right: draws)")
    return _save(fig, path)


def _divergences(idata):
    """``(chain, draw)`` booleans: the divergent transitions, or None when the run did not record them."""
    stats = compat.group(idata, "sample_stats") if "sample_stats" in compat.groups(idata) else {}
    if "diverging" not in stats:
        return None
    return stats["diverging"].transpose("chain", "draw").values.astype(bool)


def effect_posteriors(idata, doc, path: Path) -> Path:
    """Posterior of each effect with its HDI and a reference line at no effect (0, or 1 for a ratio)."""
    scale = SCALES[doc.get("scale", "diff")]
    shown = [e["name"] for e in doc["effects"] if not kind_of(e["name"]).ratio]
    eff = compat.group(idata, "mediation")["effects"]
    ncol = min(3, len(shown))
    nrow = int(np.ceil(len(shown) / ncol))
    fig = _figure(figsize=(4.2 * ncol, 3 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax, name in zip(axes.flat, shown):
        draws = eff.sel(effect=name).values.reshape(-1)
        if np.ptp(draws) <= 1e-9 * max(1.0, float(np.abs(draws).max())):
            # the same in every draw (DEP of a multiplicative model, an absent interaction): no density to estimate
            ax.axvline(float(draws.mean()), color="C0")
            ax.text(0.5, 0.5, f"{draws.mean():.4g} in every draw", transform=ax.transAxes, ha="center")
            ax.set_yticks([])
        else:
            compat.plot_posterior(draws, ax, doc["hdi_prob"], scale.null)
        ax.set_title(name)
        ax.set_xlabel(prose.axis_label(doc))
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.suptitle(f"Posterior of each effect, {doc['hdi_prob']:.0%} HDI, reference line at {scale.null:g}")
    return _save(fig, path)


def forest(doc, path: Path) -> Path:
    """The key picture: TE and its components with their HDIs."""
    scale = SCALES[doc.get("scale", "diff")]
    rows = [e for e in doc["effects"] if not kind_of(e["name"]).ratio]
    fig = _figure(figsize=(7, 0.5 * len(rows) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    for yi, e in zip(y, rows):
        colour = "#d95f02" if e["name"] == "TE" else "#1b9e77"
        ax.plot([e["hdi_low"], e["hdi_high"]], [yi, yi], color=colour, lw=3)
        ax.plot(e["mean"], yi, "o", color="black")
    ax.axvline(scale.null, color="grey", ls="--")
    if scale.ratio:
        from matplotlib.ticker import FormatStrFormatter

        ax.set_xscale("log")  # a ratio and its inverse equally far from 1
        for axis in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
            axis(FormatStrFormatter("%g"))
    ax.set_yticks(y, [e["name"] for e in rows])
    ax.set_xlabel(f"{prose.axis_label(doc)}: effect on {doc['outcome']} (mean, {doc['hdi_prob']:.0%} HDI)")
    ax.set_title("Total effect and its components")
    return _save(fig, path)


def pair_paths(idata, ir, path: Path) -> Path:
    """Continuous examples: path coefficients a, b, c' with the indirect and total effects."""
    draws = Draws.from_posterior(compat.group(idata, "posterior"), ir)
    t, y = ir.treatment, ir.outcome
    cols = {}
    for m in ir.mediators:
        cols[f"a ({t}->{m})"] = draws[m].coef(t)
        cols[f"b ({m}->{y})"] = draws[y].coef(m)
    cols[f"c' ({t}->{y})"] = draws[y].coef(t)
    eff = compat.group(idata, "mediation")["effects"]
    for m in ir.mediators:
        cols[f"indirect {m}"] = eff.sel(effect=Effect(IIE, (m,)).name).values.reshape(-1)
    cols["total"] = eff.sel(effect=Effect(TE).name).values.reshape(-1)
    fig = _pair_grid(cols, "Path coefficients and effects (red: medians)", medians=True)
    return _save(fig, path)


def _pair_grid(cols: dict, title: str, medians: bool):
    """Histograms on the diagonal, scatter plots below it (and above, without medians)."""
    labels = list(cols)
    k = len(labels)
    fig = _figure(figsize=(2.4 * k, 2.4 * k))
    axes = fig.subplots(k, k, squeeze=False)
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            ax = axes[i, j]
            if i == j:
                ax.stairs(*np.histogram(cols[a], bins=30 if medians else 15), fill=True, color="#7570b3")
                if medians:
                    ax.axvline(np.median(cols[a]), color="red")
            elif i > j or not medians:
                ax.scatter(cols[b], cols[a], s=2 if medians else 8, alpha=0.3 if medians else 0.7)
                if medians:
                    ax.plot(np.median(cols[b]), np.median(cols[a]), "r+", ms=12)
            else:
                ax.axis("off")
            if i == k - 1:
                ax.set_xlabel(b, fontsize=8)
            if j == 0:
                ax.set_ylabel(a, fontsize=8)
    fig.suptitle(title)
    return fig


def draw_all(run_dir: Path, ir, idata, doc, log=print, progressbar: bool = True) -> list[Path]:
    """Every picture into ``run_dir/plots``, with a progress bar on stderr; returns the paths written.

    Everything comes from the run's files (``idata``, ``doc``: ``effects.json``) and the
    model IR of the checked spec; the model graph from the generative model, which needs no data.
    """
    analysis = ir.analysis
    out = Path(run_dir) / "plots"
    out.mkdir(exist_ok=True)
    steps = [
        lambda: dag(analysis, out / "dag.png"),
        lambda: data_distributions(idata, out / "data.png"),
        lambda: rates_by_treatment(idata, doc, out / "rates_by_treatment.png"),
        lambda: trace(idata, out / "trace.png"),
        lambda: effect_posteriors(idata, doc, out / "effects.png"),
        lambda: forest(doc, out / "forest.png"),
    ]
    for group, title in (("prior_predictive", "Prior"), ("posterior_predictive", "Posterior")):
        if group in compat.groups(idata):
            steps.append(
                lambda group=group, title=title: predictive_check(
                    idata,
                    group,
                    out / f"{group}.png",
                    f"{title} predictive check: simulated means against the observed mean",
                )
            )
    if all(ir.node(n).family.continuous for n in (*ir.mediators, ir.outcome)):
        steps.append(lambda: pair_paths(idata, ir, out / "pair.png"))
    steps.append(lambda: model_graph(build(ir, doc["n_obs"]), out / "model_graph.png", log))
    done = []
    with _quiet_fonts(), progress("plots", len(steps), progressbar) as advance:
        for draw in steps:
            done.append(draw())
            advance()
    return done


@contextmanager
def _quiet_fonts():
    """matplotlib's font fallback messages ("findfont: Failed to find font weight semibold") off."""
    logger = logging.getLogger("matplotlib.font_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _columns(idata) -> dict:
    """Every data column of a run: constant (exogenous) data first, then observed nodes."""
    cols = {}
    for group in ("constant_data", "observed_data"):
        if group in compat.groups(idata):
            cols.update({k: v.values for k, v in compat.group(idata, group).data_vars.items()})
    return cols
