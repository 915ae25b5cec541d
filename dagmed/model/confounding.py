r"""An unmeasured mediator-outcome confounder, added to a model: the IR transform of ``dagmed sensitivity``.

Every indirect effect assumes that nothing unmeasured causes both a mediator and the
outcome. :func:`confound` returns a new :class:`~dagmed.model.ir.ModelIR` in which a binary
``U ~ Bernoulli(1/2)``, independent of the treatment and the covariates, adds ``strength``
to the mediator's linear predictor and ``strength_y`` to the outcome's (link scale:
log-odds for a bernoulli node, log for counts, cumulative log-odds for an ordinal one; for
a normal or studentt node in units of its residual sd, ``strength * sigma``). Its
coefficients and its intercept are :class:`~dagmed.model.ir.Known`: given, not estimated.

``U`` is a covariate missing in every row (:func:`confounded_data`), so the missing-value
machinery (:mod:`dagmed.model.missing`) sums it out of each row's likelihood exactly, as it
does any missing binary value; in the regimes it is a baseline covariate averaged over its
two values, 1/2 each (:func:`dagmed.effects.rows.average_known`). At strength 0 the model is
the plain one.

Examples
--------
>>> import dagmed
>>> from dagmed.model.ir import ModelIR
>>> spec = dagmed.parse("treatment t\noutcome y\nt -> m -> y\nt -> y\nm, y ~ bernoulli\nt ~ bernoulli\n")
>>> ir = confound(ModelIR.from_analysis(dagmed.check(spec)), "m", 2.0)
>>> ir.covariates, [n.name for n in ir.nodes]
(('U_m',), ['U_m', 't', 'm', 'y'])
>>> ir.node("m").known, ir.node("y").equation()
((Known(term='U_m', value=2.0, per=None),), 'y ~ bernoulli(logit: t, m)')
>>> ir.node("U_m").params, ir.node("U_m").known
((), (Known(term='1', value=0.0, per=None),))
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import UsageError
from ..lang.families import FAMILIES, SUMMED
from . import names
from .data import Dataset
from .ir import INTERCEPT, Known, ModelIR, NodeModel

PROBABILITY = 0.5  # P(U = 1)


def per(node: NodeModel) -> str | None:
    """What a strength multiplies in ``node``'s equation: its residual sd (``"sigma"``) on an identity link, else nothing.

    Examples
    --------
    >>> from dagmed.lang.families import FAMILIES
    >>> per(NodeModel("y", FAMILIES["normal"], (), (), "outcome")), per(NodeModel("y", FAMILIES["poisson"], (), (), "outcome"))
    ('sigma', None)
    """
    fam = node.family
    return "sigma" if fam.link.affine and fam.extra("sigma") is not None else None


def confound(ir: ModelIR, mediator: str, strength: float, strength_y: float | None = None) -> ModelIR:
    """A new model IR with a binary confounder ``U`` of ``mediator`` and the outcome; ``ir`` is unchanged.

    Parameters
    ----------
    ir : ModelIR
    mediator : str
        One of ``ir.mediators``.
    strength : float
        U's coefficient in the mediator's equation (link scale; times sigma for a normal or studentt node).
    strength_y : float, optional
        U's coefficient in the outcome's; ``strength`` when not given.

    Raises
    ------
    UsageError
        ``mediator`` is not a mediator, a strength is not a finite number, or the mediator or the
        outcome has a family a known coefficient cannot enter (categorical: one predictor per level).
    """
    if mediator not in ir.mediators:
        raise UsageError(
            f"{mediator} is not a mediator of this model; its mediators are {', '.join(ir.mediators) or 'none'}"
        )
    strength_y = strength if strength_y is None else strength_y
    for what, value in (("strength", strength), ("strength-y", strength_y)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UsageError(f"--{what} must be a finite number, got {value!r}")
    for node in (ir.node(mediator), ir.node(ir.outcome)):
        if node.family.vector:
            raise UsageError(
                f"{node.name} is {node.family.name}: an unmeasured confounder's strength is one number on one "
                "linear predictor, and a categorical node has one per level; the sensitivity analysis does not cover it"
            )
    u = names.confounder(mediator, taken=tuple(ir.analysis.graph.nodes) + ir.data_nodes)
    logit = math.log(PROBABILITY / (1 - PROBABILITY))
    u_node = NodeModel(u, FAMILIES["bernoulli"], (), (), "covariate", known=(Known(INTERCEPT, logit),))
    effect = {mediator: float(strength), ir.outcome: float(strength_y)}
    nodes = tuple(
        dataclasses.replace(n, known=n.known + (Known(u, effect[n.name], per(n)),)) if n.name in effect else n
        for n in ir.nodes
    )
    return dataclasses.replace(
        ir, covariates=(u, *ir.covariates), data_nodes=(u, *ir.data_nodes), nodes=(u_node, *nodes)
    )


def confounder_of(ir: ModelIR) -> str | None:
    """The confounder :func:`confound` added to ``ir`` (None for a plain model).

    Only :func:`confound` makes a fully known node (:attr:`~dagmed.model.ir.NodeModel.fully_known`).
    """
    return next((n.name for n in ir.nodes if n.fully_known), None)


def confounded_data(dataset: Dataset, ir: ModelIR) -> Dataset:
    """``dataset`` for the confounded ``ir``: the confounder's column, missing in every row (summed out).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> from dagmed.model.ir import ModelIR
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> ds = dagmed.load_data(spec, pd.DataFrame({"t": [0, 1], "m": [1, 0], "y": [0, 1]}))
    >>> out = confounded_data(ds, confound(ds.ir, "m", 1.0))
    >>> out["U_m"].tolist(), out.missing["U_m"].tolist(), out.method, out.n_obs
    ([nan, nan], [True, True], {'U_m': 'summed out'}, 2)
    """
    u = confounder_of(ir)
    n = dataset.n_obs
    return dataclasses.replace(
        dataset,
        columns={u: np.full(n, np.nan), **dataset.columns},
        ir=ir,
        missing={**dataset.missing, u: np.ones(n, dtype=bool)},
        method={**dataset.method, u: SUMMED},
    )
