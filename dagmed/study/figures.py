r"""A study's pictures: ``power.png`` (power against n per effect), ``ranks.png`` (rank histograms),
and a sensitivity analysis's ``sensitivity_<mediator>.png`` (effects against the confounder's strength).

Each is a ``matplotlib.figure.Figure`` of its own, written as PNG; pyplot and its backend are
never touched.

Examples
--------
>>> import pandas as pd, tempfile
>>> from pathlib import Path
>>> summary = pd.DataFrame({"n": [100, 400], "effect": ["TE", "TE"], "reps": [10, 10],
...                         "power": [0.3, 0.9], "power_mcse": [0.14, 0.09]})
>>> power_figure(summary, Path(tempfile.mkdtemp()) / "power.png").name
'power.png'
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

DPI = 110


def _grid(k: int, width: float = 3.0, height: float = 2.4):
    cols = min(k, 4)
    rows = math.ceil(k / cols)
    fig = Figure(figsize=(width * cols, height * rows), dpi=DPI)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[k:]:
        ax.set_visible(False)
    return fig, axes[:k]


def power_figure(summary, path: Path) -> Path:
    """Power (the 95% HDI excludes the null) against n, one panel per effect, with its 95% Wilson interval as a band."""
    effects = list(dict.fromkeys(summary["effect"]))
    fig, axes = _grid(len(effects))
    for ax, name in zip(axes, effects):
        s = summary[summary["effect"] == name].sort_values("n")
        n, p = s["n"].to_numpy(float), s["power"].to_numpy(float)
        lo, hi = wilson(p, s["reps"].to_numpy(float))
        ax.fill_between(n, lo, hi, color="C0", alpha=0.2, lw=0)
        ax.plot(n, p, "o-", color="C0")
        ax.axhline(0.8, color="0.5", lw=0.8, ls="--")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("n", fontsize=8)
        ax.set_ylabel("power", fontsize=8)
        ax.tick_params(labelsize=7)
        if len(n) > 1 and n.max() / n.min() >= 4:
            ax.set_xscale("log")
            ax.set_xticks(n, [f"{v:g}" for v in n])
            ax.minorticks_off()
    fig.suptitle(
        "power: P(95% HDI excludes the null); band: its 95% Monte Carlo interval (Wilson); dashed: 0.8", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return Path(path)


def wilson(p, reps, z: float = 1.96):
    """The Wilson interval of a proportion ``p`` of ``reps`` trials: unlike ``p ± 2 se``, not empty at 0 or 1.

    Examples
    --------
    >>> [round(float(v), 3) for v in np.ravel(wilson(np.array([1.0]), np.array([8.0])))]
    [0.676, 1.0]
    """
    p, reps = np.asarray(p, dtype=float), np.maximum(np.asarray(reps, dtype=float), 1)
    centre = (p + z * z / (2 * reps)) / (1 + z * z / reps)
    half = z * np.sqrt(p * (1 - p) / reps + z * z / (4 * reps * reps)) / (1 + z * z / reps)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def rank_bins(reps: int) -> int:
    """Bins of a rank histogram: about 5 reps per bin, between 2 and 20.

    Examples
    --------
    >>> rank_bins(8), rank_bins(100), rank_bins(1000)
    (2, 20, 20)
    """
    return int(max(2, min(20, reps // 5)))


def uniform_band(reps: int, bins: int, level: float = 0.99) -> tuple[float, float]:
    """The counts a bin of a uniform rank histogram holds with probability ``level`` (binomial quantiles).

    Examples
    --------
    >>> uniform_band(100, 20)
    (0.0, 11.0)
    """
    from scipy.stats import binom

    lo, hi = binom.ppf([(1 - level) / 2, (1 + level) / 2], reps, 1 / bins)
    return float(lo), float(hi)


def ranks_figure(results, path: Path) -> Path:
    """One histogram per effect of the truth's normalised rank among the posterior draws, with the uniform 99% band."""
    ok = results[results["rank"].notna() & results["draws"].notna()]
    effects = list(dict.fromkeys(ok["effect"]))
    fig, axes = _grid(max(1, len(effects)))
    for ax, name in zip(axes, effects):
        e = ok[ok["effect"] == name]
        u = (e["rank"].to_numpy(float) + 0.5) / (e["draws"].to_numpy(float) + 1)
        bins = rank_bins(len(u))
        lo, hi = uniform_band(len(u), bins)
        ax.axhspan(lo, hi, color="0.85", lw=0)
        ax.axhline(len(u) / bins, color="0.5", lw=0.8)
        ax.hist(u, bins=np.linspace(0, 1, bins + 1), color="C0", edgecolor="white")
        ax.set_title(f"{name} ({len(u)} reps)", fontsize=9)
        ax.set_xlabel("rank of the truth / draws", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("simulation-based calibration: ranks of the truth; grey: 99% band of a uniform histogram", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return Path(path)


SENSITIVITY_KINDS = ("TE", "DE", "IIE[")  # the effects drawn against strength (DEP, INT, PM: sensitivity.csv)


def sensitivity_figure(rows, mediator: str, joint: bool, path: Path, null: float = 0.0) -> Path:
    """Effects against the strength of ``mediator``'s confounder: one panel per effect, the 95% HDI as a band.

    ``joint``: one axis (``strength_y = strength``). Otherwise a grid: one line per
    ``strength_y`` in each panel, and a last panel with the contour of ``IIE[mediator]``'s posterior
    mean over ``(strength, strength_y)``, the points whose 95% HDI holds the null marked.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> rows = pd.DataFrame({"strength": [0.0, 1.0, 0.0, 1.0], "strength_y": [0.0, 0.0, 1.0, 1.0],
    ...                      "effect": "IIE[m]", "mean": [0.3, 0.2, 0.25, 0.1],
    ...                      "hdi_low": [0.1, 0.05, 0.05, -0.1], "hdi_high": [0.5, 0.4, 0.45, 0.3]})
    >>> sensitivity_figure(rows, "m", False, Path(tempfile.mkdtemp()) / "s.png").name
    's.png'
    """
    effects = [e for e in dict.fromkeys(rows["effect"]) if e in SENSITIVITY_KINDS or str(e).startswith("IIE[")]
    own = f"IIE[{mediator}]"
    contour = not joint and rows["strength"].nunique() > 1 and rows["strength_y"].nunique() > 1
    fig, axes = _grid(len(effects) + contour)
    for ax, name in zip(axes, effects):
        e = rows[rows["effect"] == name]
        for j, (sy, g) in enumerate(e.groupby("strength_y") if not joint else [(None, e)]):
            g = g.sort_values("strength")
            x = g["strength"].to_numpy(float)
            ax.fill_between(x, g["hdi_low"], g["hdi_high"], color=f"C{j}", alpha=0.2, lw=0)
            ax.plot(x, g["mean"], "o-", color=f"C{j}", ms=3, label=None if joint else f"strength_y {sy:g}")
        ax.axhline(null, color="0.5", lw=0.8, ls="--")
        ax.set_title(name + ("  (this mediator)" if name == own else ""), fontsize=9)
        ax.set_xlabel("strength" + (" = strength_y" if joint else ""), fontsize=8)
        ax.tick_params(labelsize=7)
        if not joint and name == own:
            ax.legend(fontsize=6)
    if contour:
        ax = axes[-1]
        e = rows[rows["effect"] == own].pivot_table(index="strength_y", columns="strength", values="mean")
        cs = ax.contourf(
            e.columns.to_numpy(float), e.index.to_numpy(float), e.to_numpy(float), levels=12, cmap="RdBu_r"
        )
        fig.colorbar(cs, ax=ax, shrink=0.8).ax.tick_params(labelsize=6)
        g = rows[rows["effect"] == own]
        holds = (g["hdi_low"] <= null) & (null <= g["hdi_high"])
        ax.scatter(g["strength"][~holds], g["strength_y"][~holds], s=8, c="k", marker="o", label="HDI excludes null")
        ax.scatter(
            g["strength"][holds],
            g["strength_y"][holds],
            s=14,
            c="w",
            edgecolors="k",
            marker="o",
            label="HDI holds null",
        )
        ax.legend(fontsize=6)
        ax.set_title(f"{own}: posterior mean", fontsize=9)
        ax.set_xlabel("strength (mediator)", fontsize=8)
        ax.set_ylabel("strength_y (outcome)", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        f"unmeasured confounder of {mediator} and the outcome: effects (95% HDI band) against its strength", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return Path(path)
