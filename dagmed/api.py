"""The pipeline end to end: ``run(spec, data)`` -> :class:`Result`.

Reads like the pipeline: check -> load data -> compile -> sample -> decompose.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import checks, compiler, data as data_mod, decompose, fit
from .errors import UsageError
from .ir import Spec
from .tables import CONVENTIONS

HDI_PROB = 0.95


def summarize(draws: np.ndarray, hdi_prob: float = HDI_PROB) -> dict:
    """Mean, sd, HDI and P(< 0) of one quantity's draws (NaN draws, e.g. PM at TE = 0, dropped)."""
    import arviz as az

    x = np.asarray(draws, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": float("nan"), "sd": float("nan"), "hdi_low": float("nan"), "hdi_high": float("nan"), "p_lt_0": float("nan")}
    lo, hi = az.hdi(x, hdi_prob=hdi_prob)
    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "hdi_low": float(lo),
        "hdi_high": float(hi),
        "p_lt_0": float((x < 0).mean()),
    }


@dataclass(eq=False)
class Result:
    """Everything a run produced.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior, sample stats, observed data; group ``mediation`` holds the draws of
        every effect and regime.
    effects : pandas.DataFrame
        One row per effect (TE, DE, IIE[m], INT[...], DEP, PM[m]): mean, sd, hdi_low,
        hdi_high, p_lt_0.
    regimes : pandas.DataFrame
        One row per regime: t, one column per mediator's t_k, mean, sd, hdi_low, hdi_high.
    model : pymc.Model
    """

    analysis: checks.Analysis
    dataset: data_mod.Dataset
    model: object
    idata: object
    settings: fit.SamplerSettings
    convention: str
    hdi_prob: float
    effect_draws: dict = field(repr=False)
    regime_draws: np.ndarray = field(repr=False)
    diagnostics: dict = field(default_factory=dict)

    @property
    def effects(self) -> pd.DataFrame:
        rows = {name: summarize(d, self.hdi_prob) for name, d in self.effect_draws.items()}
        return pd.DataFrame.from_dict(rows, orient="index")

    @property
    def regimes(self) -> pd.DataFrame:
        meds = self.analysis.mediators
        flat = self.regime_draws.reshape(self.regime_draws.shape[0], -1)
        rows = []
        for j, (t, ts) in enumerate(decompose.regime_labels(meds)):
            rows.append({"t": t, **dict(zip(meds, ts)), **summarize(flat[:, j], self.hdi_prob)})
        return pd.DataFrame(rows).drop(columns=["p_lt_0"])

    def to_dict(self) -> dict:
        """The ``effects.json`` contract."""
        a = self.analysis
        eff = self.effects
        regimes = self.regimes
        return {
            "spec": a.spec.source,
            "treatment": a.treatment,
            "outcome": a.outcome,
            "mediators": list(a.mediators),
            "covariates": list(a.covariates),
            "n_obs": self.dataset.n_obs,
            "n_dropped": self.dataset.n_dropped,
            "data": self.dataset.source,
            "convention": self.convention,
            "convention_description": CONVENTIONS[self.convention],
            "hdi_prob": self.hdi_prob,
            "sampler": self.settings.as_dict(),
            "effects": [{"name": n, **{k: _num(v) for k, v in row.items()}} for n, row in eff.iterrows()],
            "regimes": [
                {
                    "t": int(r["t"]),
                    "mediators": {m: int(r[m]) for m in a.mediators},
                    **{k: _num(r[k]) for k in ("mean", "sd", "hdi_low", "hdi_high")},
                }
                for _, r in regimes.iterrows()
            ],
            "diagnostics": {k: v if isinstance(v, int) else _num(v) for k, v in self.diagnostics.items()},
        }


def _num(v):
    v = float(v)
    return None if not np.isfinite(v) else v


def _mediation_group(analysis, effect_draws, table, chains, draws):
    """Effect and regime draws as an xarray Dataset shaped like the posterior."""
    import xarray as xr

    labels = [
        f"E({t};{','.join(map(str, ts))})" for t, ts in decompose.regime_labels(analysis.mediators)
    ]
    names = list(effect_draws)
    eff = np.stack([effect_draws[n] for n in names], axis=-1).reshape(chains, draws, len(names))
    reg = table.reshape(chains, draws, len(labels))
    return xr.Dataset(
        {"effects": (("chain", "draw", "effect"), eff), "regimes": (("chain", "draw", "regime"), reg)},
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "effect": names, "regime": labels},
    )


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise UsageError(f"unknown convention {convention!r}; valid options are {', '.join(CONVENTIONS)}")


def decompose_idata(analysis, dataset, idata, convention="control", chunk_bytes=decompose.DEFAULT_CHUNK_BYTES):
    """Regime table and effect draws from a fitted posterior."""
    _check_convention(convention)
    problem = decompose.problem_from(idata, analysis, dataset)
    table = decompose.regime_table(problem, chunk_bytes=chunk_bytes)
    return table, decompose.effects(table, analysis.mediators, convention)


def run(
    spec: Spec,
    data=None,
    *,
    convention: str = "control",
    hdi_prob: float = HDI_PROB,
    log=None,
    **sampler,
) -> Result:
    """Check, load the data, compile, sample, decompose.

    Parameters
    ----------
    spec : Spec
        From :func:`dagmed.load` or :func:`dagmed.parse`.
    data : str, path or pandas.DataFrame, optional
        Overrides the spec's ``data`` statement.
    convention : {"control", "treated"}
        Effect convention (MATH.md section 3).
    hdi_prob : float
        Probability mass of the reported HDIs.
    log : callable, optional
        Receives progress lines (default: print to stderr).
    **sampler
        :class:`dagmed.fit.SamplerSettings` fields: draws, tune, chains, cores, seed,
        target_accept, sampler, progressbar.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if not 0 < hdi_prob < 1:
        raise UsageError(f"hdi_prob must be between 0 and 1, got {hdi_prob!r}")
    _check_convention(convention)  # before sampling, not after
    settings = fit.SamplerSettings(**sampler)
    analysis = checks.check(spec)
    decompose.check_size(len(analysis.mediators), settings.chains * settings.draws)
    dataset = data_mod.load(analysis, data)
    log(f"data: {dataset.source}: {dataset.summary()}")
    model = compiler.build(analysis, dataset)
    log(
        f"sampling: {settings.resolved_sampler()}, {settings.chains} chains x {settings.draws} draws "
        f"({settings.tune} tuning), seed {settings.seed}"
    )
    idata = fit.sample(model, settings)
    diag = fit.diagnostics(idata)
    for w in fit.warnings_for(diag):
        log(f"dagmed: warning: {w}")
    log(f"decomposing: {analysis.n_regimes} regimes over {idata.posterior.sizes['chain'] * idata.posterior.sizes['draw']} draws")
    table, effect_draws = decompose_idata(analysis, dataset, idata, convention)
    group = _mediation_group(analysis, effect_draws, table, idata.posterior.sizes["chain"], idata.posterior.sizes["draw"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "mediation" is not an ArviZ schema group
        idata.add_groups({"mediation": group})
    return Result(analysis, dataset, model, idata, settings, convention, hdi_prob, effect_draws, table, diag)
