"""The pictures of a run (ArviZ and matplotlib, Agg backend): every one titled and labelled.

Each function draws from what a run directory holds (``idata.nc``, ``effects.json`` and
the spec) so that ``dagmed plot DIR`` redraws them without refitting. An optional renderer
that is missing (Graphviz ``dot``) never fails a run: the picture falls back to a drawing
that needs nothing outside Python, and the skip is reported.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from . import names  # noqa: E402

ROLE_COLOURS = {
    "treatment": "#d95f02",
    "mediator": "#1b9e77",
    "outcome": "#7570b3",
    "covariate": "#bdbdbd",
    "latent": "#ffffff",
    "other": "#e6ab02",
}
ROLE_LAYER = {"covariate": 0, "latent": 0, "treatment": 1, "mediator": 2, "outcome": 3, "other": 3}


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def dag(analysis, path: Path) -> Path:
    """The spec's DAG, nodes coloured by role, left to right: covariates, treatment, mediators, outcome."""
    g = analysis.graph
    h = nx.DiGraph(g.edges)
    h.add_nodes_from(g.nodes)
    for n, role in g.nodes(data="role"):
        h.nodes[n]["layer"] = ROLE_LAYER[role]
    pos = nx.multipartite_layout(h, subset_key="layer")
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = [ROLE_COLOURS[g.nodes[n]["role"]] for n in h.nodes]
    nx.draw_networkx_edges(h, pos, ax=ax, arrowsize=18, node_size=2600, edge_color="#555555")
    nx.draw_networkx_nodes(h, pos, ax=ax, node_color=colours, node_size=2600, edgecolors="black",
                           linewidths=[2 if g.nodes[n]["observed"] else 1 for n in h.nodes])
    nx.draw_networkx_labels(h, pos, ax=ax, font_size=9)
    handles = [plt.Line2D([], [], marker="o", ls="", markersize=12, markerfacecolor=c, markeredgecolor="black", label=r)
               for r, c in ROLE_COLOURS.items() if r in set(nx.get_node_attributes(g, "role").values())]
    ax.legend(handles=handles, loc="lower center", ncol=len(handles), bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax.set_title(f"Causal DAG: {analysis.treatment} -> {analysis.outcome}")
    ax.axis("off")
    return _save(fig, path)


def model_graph(model, path: Path, log) -> Path:
    """The generative model's graph, the data's nodes filled: Graphviz when installed, else networkx.

    ``model`` is :func:`dagmed.compiler.build`'s: it needs no data, so a run and a redraw
    from its directory draw the same picture.
    """
    import importlib.util

    import pymc as pm
    from pymc.model_graph import ModelGraph

    from .compiler import data_nodes

    observed = set(data_nodes(model)) - {v.name for v in model.data_vars}
    if shutil.which("dot") and importlib.util.find_spec("graphviz"):
        from pymc.model_graph import NodeType, default_free_rv, default_observed_rv

        def free_rv(var):  # the nodes the data supply are drawn as PyMC draws observed ones
            return (default_observed_rv if var.name in observed else default_free_rv)(var)

        gv = pm.model_to_graphviz(model, node_formatters={NodeType.FREE_RV: free_rv})
        gv.render(outfile=str(path), format="png", cleanup=True)
        return path
    log("plots: Graphviz (dot and its Python package) not found; model_graph.png drawn with networkx instead")
    deps = ModelGraph(model).make_compute_graph()
    g = nx.DiGraph()
    for child, parents in deps.items():
        g.add_node(child)
        g.add_edges_from((p, child) for p in parents)
    data = {v.name for v in model.data_vars}
    layer = {}
    for n in nx.topological_sort(g):
        layer[n] = 1 + max((layer[p] for p in g.predecessors(n)), default=-1)
    nx.set_node_attributes(g, layer, "layer")
    pos = nx.multipartite_layout(g, subset_key="layer")
    fig, ax = plt.subplots(figsize=(11, 7))
    colour = ["#9ecae1" if n in observed else "#eeeeee" if n in data else "#fdd0a2" for n in g.nodes]
    nx.draw_networkx(g, pos, ax=ax, node_color=colour, node_size=1800, font_size=7, arrowsize=12, edgecolors="black")
    ax.set_title("Generative PyMC model (blue: observed nodes, orange: parameters, grey: covariate data)")
    ax.axis("off")
    return _save(fig, path)


def data_distributions(idata, path: Path) -> Path:
    """Each variable's distribution: bars for 0/1 columns, histograms otherwise."""
    cols = _columns(idata)
    n = len(cols)
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3 * nrow), squeeze=False)
    for ax, (name, v) in zip(axes.flat, cols.items()):
        v = np.asarray(v, dtype=float)
        if set(np.unique(v)) <= {0.0, 1.0}:
            counts = [(v == 0).sum(), (v == 1).sum()]
            ax.bar(["0", "1"], counts, color="#1b9e77")
            ax.set_ylabel("count")
        else:
            ax.hist(v, bins=20, color="#7570b3")
            ax.set_ylabel("count")
        ax.set_title(name)
        ax.set_xlabel("value")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Data: distribution of each variable")
    fig.tight_layout()
    return _save(fig, path)


def rates_by_treatment(idata, doc, path: Path) -> Path:
    """Outcome and mediator means by treatment group (binary treatment), else scatter on the treatment."""
    t = doc["treatment"]
    obs = {k: np.asarray(v, float) for k, v in _columns(idata).items()}
    tv = obs[t]
    nodes = [*doc["mediators"], doc["outcome"]]
    if set(np.unique(tv)) <= {0.0, 1.0}:
        fig, ax = plt.subplots(figsize=(7, 4))
        x = np.arange(len(nodes))
        for j, level in enumerate((0, 1)):
            means = [obs[n][tv == level].mean() for n in nodes]
            ax.bar(x + (j - 0.5) * 0.38, means, width=0.38, label=f"{t} = {level}",
                   color=["#bdbdbd", "#d95f02"][j])
        ax.set_xticks(x, nodes)
        ax.set_ylabel("observed mean (rate)")
        ax.set_title(f"Mediator and outcome rates by {t}")
        ax.legend()
    else:
        fig = _pair_grid({c: obs[c] for c in [t, *nodes]}, "Pair plot of the data", medians=False)
    fig.tight_layout()
    return _save(fig, path)


def _predictive_means(idata, group):
    out = {}
    ds = idata[group]
    for name in ds.data_vars:
        v = ds[name].values
        out[name] = v.reshape(-1, v.shape[-1]).mean(axis=1)
    return out


def predictive_check(idata, group: str, path: Path, title: str) -> Path:
    """Distribution of simulated means per variable against the observed mean (red line)."""
    means = _predictive_means(idata, group)
    n = len(means)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.2), squeeze=False)
    for ax, (name, m) in zip(axes.flat, means.items()):
        ax.hist(m, bins=30, color="#9ecae1")
        ax.axvline(float(np.mean(idata.observed_data[name].values)), color="red", lw=2, label="observed")
        ax.set_title(name)
        ax.set_xlabel("mean of a simulated data set")
        ax.set_ylabel("count")
    axes.flat[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def trace(idata, path: Path) -> Path:
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        axes = az.plot_trace(idata, compact=True, figsize=(11, 2.0 * len(idata.posterior.data_vars)))
    fig = np.asarray(axes).flat[0].figure
    fig.suptitle("Trace plots (left: posterior by chain, right: draws)")
    fig.tight_layout()
    return _save(fig, path)


def effect_posteriors(idata, doc, path: Path) -> Path:
    """Posterior of each effect with its HDI and a reference line at 0."""
    import arviz as az

    shown = [e["name"] for e in doc["effects"] if not e["name"].startswith("PM[")]
    eff = idata.mediation["effects"]
    ncol = min(3, len(shown))
    nrow = int(np.ceil(len(shown) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3 * nrow), squeeze=False)
    for ax, name in zip(axes.flat, shown):
        az.plot_posterior(eff.sel(effect=name).values.reshape(-1), ax=ax, hdi_prob=doc["hdi_prob"], ref_val=0,
                          point_estimate="mean")
        ax.set_title(name)
        ax.set_xlabel("effect on the outcome mean")
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.suptitle(f"Posterior of each effect, {doc['hdi_prob']:.0%} HDI, reference line at 0")
    fig.tight_layout()
    return _save(fig, path)


def forest(doc, path: Path) -> Path:
    """The key picture: TE and its components with their HDIs."""
    rows = [e for e in doc["effects"] if not e["name"].startswith("PM[")]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.5))
    y = np.arange(len(rows))[::-1]
    for yi, e in zip(y, rows):
        colour = "#d95f02" if e["name"] == "TE" else "#1b9e77"
        ax.plot([e["hdi_low"], e["hdi_high"]], [yi, yi], color=colour, lw=3)
        ax.plot(e["mean"], yi, "o", color="black")
    ax.axvline(0, color="grey", ls="--")
    ax.set_yticks(y, [e["name"] for e in rows])
    ax.set_xlabel(f"effect of {doc['treatment']} on {doc['outcome']} (mean, {doc['hdi_prob']:.0%} HDI)")
    ax.set_title("Total effect and its components")
    fig.tight_layout()
    return _save(fig, path)


def pair_paths(idata, doc, path: Path) -> Path:
    """Continuous examples: path coefficients a, b, c' with the indirect and total effects."""
    post = idata.posterior
    t, y = doc["treatment"], doc["outcome"]

    def coef(node, parent):
        return post[names.beta(node)].sel({names.parents_dim(node): parent}).values.reshape(-1)

    cols = {}
    for m in doc["mediators"]:
        cols[f"a ({t}->{m})"] = coef(m, t)
        cols[f"b ({m}->{y})"] = coef(y, m)
    cols[f"c' ({t}->{y})"] = coef(y, t)
    eff = idata.mediation["effects"]
    for m in doc["mediators"]:
        cols[f"indirect {m}"] = eff.sel(effect=f"IIE[{m}]").values.reshape(-1)
    cols["total"] = eff.sel(effect="TE").values.reshape(-1)
    fig = _pair_grid(cols, "Path coefficients and effects (red: medians)", medians=True)
    fig.tight_layout()
    return _save(fig, path)


def _pair_grid(cols: dict, title: str, medians: bool):
    """Histograms on the diagonal, scatter plots below it (and above, without medians)."""
    labels = list(cols)
    k = len(labels)
    fig, axes = plt.subplots(k, k, figsize=(2.4 * k, 2.4 * k), squeeze=False)
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            ax = axes[i, j]
            if i == j:
                ax.hist(cols[a], bins=30 if medians else 15, color="#7570b3")
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


def draw_all(run_dir: Path, analysis, idata, doc, log=print) -> list[Path]:
    """Every picture into ``run_dir/plots``; returns the paths written.

    Everything comes from the run's files (``idata``, ``doc``: ``effects.json``) and the
    checked spec; the model graph from the generative model, which needs no data.
    """
    from . import compiler

    out = Path(run_dir) / "plots"
    out.mkdir(exist_ok=True)
    done = [
        dag(analysis, out / "dag.png"),
        data_distributions(idata, out / "data.png"),
        rates_by_treatment(idata, doc, out / "rates_by_treatment.png"),
        trace(idata, out / "trace.png"),
        effect_posteriors(idata, doc, out / "effects.png"),
        forest(doc, out / "forest.png"),
    ]
    if "prior_predictive" in idata.groups():
        done.append(predictive_check(idata, "prior_predictive", out / "prior_predictive.png",
                                     "Prior predictive check: simulated means against the observed mean"))
    if "posterior_predictive" in idata.groups():
        done.append(predictive_check(idata, "posterior_predictive", out / "posterior_predictive.png",
                                     "Posterior predictive check: simulated means against the observed mean"))
    families = {analysis.graph.nodes[n]["family"] for n in (*analysis.mediators, analysis.outcome)}
    if families <= {"normal"}:
        done.append(pair_paths(idata, doc, out / "pair.png"))
    done.append(model_graph(compiler.build(analysis, doc["n_obs"]), out / "model_graph.png", log))
    return done


def _columns(idata) -> dict:
    """Every data column of a run: constant (exogenous) data first, then observed nodes."""
    cols = {}
    if "constant_data" in idata.groups():
        cols.update({k: idata.constant_data[k].values for k in idata.constant_data.data_vars})
    cols.update({k: idata.observed_data[k].values for k in idata.observed_data.data_vars})
    return cols
