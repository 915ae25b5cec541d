"""Convergence diagnostics of a fit and the warnings they give (R-hat, bulk ESS, divergences)."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np

from .. import compat

# Thresholds of a warning: R-hat above, bulk ESS below (Vehtari et al. 2021).
RHAT_MAX = 1.01
ESS_MIN = 400


def diagnostics(idata) -> dict:
    """Worst R-hat and bulk ESS over the model's parameters, and the number of divergences.

    R-hat is NaN for a single chain (it compares chains).

    Examples
    --------
    >>> import xarray as xr
    >>> from dagmed.compat import inference_data
    >>> rng = np.random.default_rng(0)
    >>> idata = inference_data(posterior=xr.Dataset({"a": (("chain", "draw"), rng.normal(size=(2, 500)))}),
    ...                        sample_stats=xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 500), bool))}))
    >>> d = diagnostics(idata)
    >>> d["rhat_max"] < 1.01, d["ess_bulk_min"] > 400, d["divergences"]
    (True, True, 0)
    """
    post = compat.group(idata, "posterior")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(post)
        ess = az.ess(post, method="bulk")
    rhat_max = (
        max(float(np.nanmax(rhat[v].values)) for v in rhat.data_vars) if post.sizes["chain"] > 1 else float("nan")
    )
    ess_min = min(float(np.nanmin(ess[v].values)) for v in ess.data_vars)
    stats = compat.group(idata, "sample_stats") if "sample_stats" in compat.groups(idata) else {}
    div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    return {"rhat_max": rhat_max, "ess_bulk_min": ess_min, "divergences": div}


def warnings_for(diag: dict) -> list[str]:
    """Human warnings for bad diagnostics (R-hat > 1.01, bulk ESS < 400, divergences).

    Examples
    --------
    >>> warnings_for({"rhat_max": 1.0, "ess_bulk_min": 1500.0, "divergences": 0})
    []
    >>> warnings_for({"rhat_max": 1.0, "ess_bulk_min": 1500.0, "divergences": 3})
    ['3 divergent transitions: raise --target-accept or reparameterise']
    """
    out = []
    if diag["rhat_max"] > RHAT_MAX:
        out.append(f"R-hat up to {diag['rhat_max']:.3f} (> 1.01): the chains disagree; sample longer")
    if diag["ess_bulk_min"] < ESS_MIN:
        out.append(f"bulk ESS as low as {diag['ess_bulk_min']:.0f} (< 400): more draws are needed for stable intervals")
    if diag["divergences"]:
        out.append(f"{diag['divergences']} divergent transitions: raise --target-accept or reparameterise")
    return out
