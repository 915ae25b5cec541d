r"""The model IR: one frozen object per modelled node, built once from the checked analysis.

Between the causal graph and the PyMC model stands one statement per node: "``y`` is a GLM
of family F whose design columns are ``[1, t, m, x]``, with these priors and these
parameters, named so in the posterior". :class:`ModelIR` holds it for every node, in the
order the model creates them (topological, ties in spec order). The compiler, the fast
density, missing values, prior sensitivity, the implication tests, simulation, the regime
inputs and the pictures all read it; none of them derives a node's GLM by itself.

A design column is a :class:`Term`: today a parent, and in general the product of its
factors, so a term is what a coefficient multiplies, and "parent" and "design column"
are kept apart.

Examples
--------
>>> import dagmed
>>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> m -> y\nt -> y\nm, y ~ bernoulli\n"
...                     "y ~ bernoulli\nprior t -> y = normal(0, 2)\n")
>>> ir = ModelIR.from_analysis(dagmed.check(spec))
>>> ir.data_nodes, [n.name for n in ir.nodes]
(('x', 't', 'm', 'y'), ['m', 'y'])
>>> y = ir.node("y")
>>> y.equation(), y.term_names, [p.name for p in y.params]
('y ~ bernoulli(logit: t, m, x)', ('t', 'm', 'x'), ['y_intercept', 'y_beta'])
>>> [str(d) for d in y.beta.priors]
['normal(mu=0, sigma=2)', 'normal(mu=0, sigma=1)', 'normal(mu=0, sigma=1)']
>>> y.beta.dim, y.beta.coords
('y_parents', ('t', 'm', 'x'))
>>> ModelIR.from_analysis(dagmed.check(spec)) == ir  # frozen and compared by value
True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np

from ..errors import SpecError
from ..graph import dag
from ..graph.analysis import Analysis
from ..lang.families import FAMILIES, Family
from ..lang.ir import ClusterTerm, Dist, Loc, Spec
from . import names


def split_factor(factor: str) -> tuple[str, int | None]:
    """A factor's node and level: ``"m"`` -> ``("m", None)``; ``"m[2]"`` -> ``("m", 2)``.

    A parent with more than two levels (``ordinal``, ``categorical``) enters its children's
    equations as one indicator per level but the first, the factor ``m[l]``: 1 where ``m`` is
    at level ``l``, else 0.

    Examples
    --------
    >>> split_factor("m"), split_factor("m[2]")
    (('m', None), ('m', 2))
    """
    if factor.endswith("]") and "[" in factor:
        node, level = factor[:-1].rsplit("[", 1)
        if level.isdigit():
            return node, int(level)
    return factor, None


def factor_values(factor: str, columns):
    """A factor's values from its node's column in ``columns``: the column, or an indicator of its level.

    Works on NumPy arrays and on pytensor tensors alike (operators only): for an integer
    column ``v``, ``max(0, 1 - |v - l|)`` is 1 at ``v = l`` and 0 at every other integer.

    Examples
    --------
    >>> import numpy as np
    >>> factor_values("m[2]", {"m": np.array([0.0, 1.0, 2.0, 3.0])}).tolist()
    [0.0, 0.0, 1.0, 0.0]
    """
    node, level = split_factor(factor)
    v = columns[node]
    if level is None:
        return v
    x = 1.0 - abs(v - level)
    return 0.5 * (x + abs(x))


@dataclass(frozen=True)
class Term:
    """One design column of a node's GLM: the product of its factors.

    A factor is a parent's name, or ``m[l]`` for the indicator of level ``l`` of a parent
    with more than two levels (:func:`split_factor`).

    Examples
    --------
    >>> Term(("t",)).name, Term(("t", "m")).name, Term(("t", "m[2]")).nodes
    ('t', 't:m', ('t', 'm'))
    >>> import numpy as np
    >>> Term(("t", "m")).values({"t": np.array([0.0, 1.0]), "m": np.array([2.0, 3.0])}).tolist()
    [0.0, 3.0]
    """

    factors: tuple[str, ...]

    @property
    def name(self) -> str:
        """As a coordinate of ``<node>_parents`` and in messages: the factors joined by ``:``."""
        return ":".join(self.factors)

    @property
    def nodes(self) -> tuple[str, ...]:
        """The nodes whose values the term reads (a level's indicator reads its node)."""
        return tuple(split_factor(f)[0] for f in self.factors)

    @classmethod
    def parse(cls, name: str) -> Term:
        """The term called ``name`` (a node's name cannot hold ``:``, so the factors are unambiguous).

        Examples
        --------
        >>> Term.parse("t:m") == Term(("t", "m")), Term.parse("x").factors
        (True, ('x',))
        """
        return cls(tuple(name.split(":")))

    def values(self, columns):
        """The column's values: the product of its factors' values in ``columns`` (any broadcastable arrays)."""
        out = factor_values(self.factors[0], columns)
        for f in self.factors[1:]:
            out = out * factor_values(f, columns)
        return out


@dataclass(frozen=True)
class Param:
    """One parameter of a node's GLM, as it stands in the PyMC model and the posterior.

    Attributes
    ----------
    name : str
        The PyMC name (:mod:`dagmed.model.names`): ``y_intercept``, ``y_beta``, ``y_sigma``.
    kind : str
        ``"intercept"``, ``"beta"`` or the name of the family's extra parameter.
    priors : tuple of Dist
        One prior per element (the coefficients' may differ per edge, of one distribution).
    dim : str or None
        The dimension of a vector parameter (``y_parents``); None for a scalar.
    coords : tuple of str
        Its coordinates: the names of the terms the coefficients multiply.
    positive : bool
        The parameter must be > 0 (a scale).
    level_dim : str or None
        A categorical node's intercept and coefficients have one value per level but the
        first, along this trailing dimension (``m_levels``), each with the element's prior.
    levels : tuple of str
        Its coordinates: the levels ``"1"``, ..., ``"L-1"``.
    """

    name: str
    kind: str
    priors: tuple[Dist, ...]
    dim: str | None = None
    coords: tuple[str, ...] = ()
    positive: bool = False
    level_dim: str | None = None
    levels: tuple[str, ...] = ()

    @property
    def dims(self) -> tuple[str, ...]:
        """Every dimension, in the order of the values' axes."""
        return tuple(d for d in (self.dim, self.level_dim) if d is not None)

    @property
    def shape(self) -> tuple[int, ...]:
        return (() if self.dim is None else (len(self.priors),)) + ((len(self.levels),) if self.level_dim else ())

    @property
    def size(self) -> int:
        return len(self.priors) * (len(self.levels) if self.level_dim else 1)


INTERCEPT = "1"  # a known coefficient's term when it is the intercept (R's formula notation)


@dataclass(frozen=True)
class Known:
    """A coefficient that is given, not estimated: ``value`` (times the node's ``per`` parameter) on ``term``.

    Only a model transform makes these (:func:`dagmed.model.confounding.confound`: an assumed
    unmeasured confounder's effects). ``term`` is a :class:`Term`'s name, or :data:`INTERCEPT`.
    ``per`` names an extra parameter of the node that multiplies ``value`` (``"sigma"``: in
    units of a normal node's residual sd), None for a plain number on the link scale.

    Examples
    --------
    >>> import numpy as np
    >>> Known("u", 2.0, "sigma").coefficient({"sigma": np.array([0.5, 1.0])}).tolist()
    [1.0, 2.0]
    """

    term: str
    value: float
    per: str | None = None

    def coefficient(self, extras: dict):
        """The coefficient, given the node's extra parameters by kind (arrays or tensors)."""
        # a NumPy float: pytensor would make a Python float a float32 constant
        return np.float64(self.value) if self.per is None else self.value * extras[self.per]


@dataclass(frozen=True)
class ClusterEffect:
    """A node's random intercepts (and slopes of the treatment) by one cluster column.

    The intercept of cluster ``g`` is ``u_g = sd * z_g`` with ``z_g ~ Normal(0, 1)``
    (non-centred); with a slope, ``v_g = slope_sd * (rho z_g + sqrt(1 - rho^2) w_g)`` with
    ``w_g ~ Normal(0, 1)``, so ``(u_g, v_g)`` has sds ``sd``, ``slope_sd`` and correlation
    ``rho``, whose prior is LKJ(eta) (``(rho + 1) / 2 ~ Beta(eta, eta)`` for two dimensions).
    A row's linear predictor adds ``u_g + v_g * t`` for its cluster ``g``.

    Attributes
    ----------
    column : str
        The data column of the cluster labels.
    sd : Param
        The sd of the intercepts (a positive scalar: ``y_sd_school``).
    z : str
        The name of the standardised intercepts (``y_z_school``, along :attr:`dim`).
    dim : str
        The clusters' dimension (``school_cluster``).
    slope : str or None
        The variable whose coefficient varies by cluster (the treatment), or None.
    slope_sd, corr : Param or None
        The slopes' sd and the correlation (``y_corr_school``, a scalar).
    slope_z : str or None
    """

    column: str
    sd: Param
    z: str
    dim: str
    slope: str | None = None
    slope_sd: Param | None = None
    slope_z: str | None = None
    corr: Param | None = None

    @property
    def params(self) -> tuple[Param, ...]:
        """The hyperparameters: the sd, and with a slope its sd and the correlation."""
        return tuple(p for p in (self.sd, self.slope_sd, self.corr) if p is not None)

    @property
    def effects(self) -> tuple[str, ...]:
        """The names of the per-cluster standardised effects."""
        return tuple(v for v in (self.z, self.slope_z) if v is not None)


@dataclass(frozen=True)
class NodeModel:
    """A modelled node: its family, its design terms and its parameters.

    Attributes
    ----------
    name : str
    family : Family
        The row of :data:`dagmed.lang.families.FAMILIES`.
    terms : tuple of Term
        The design columns after the intercept, in the order of ``<node>_beta``: the
        treatment, mediators, covariates and others among its observed parents, each in
        spec order.
    params : tuple of Param
        The intercept, the coefficients (when there are terms), then the family's extras:
        the model's creation order.
    role : str
        treatment, mediator, outcome, covariate or other.
    known : tuple of Known
        Coefficients that are given, not parameters (empty but for a transformed model). A
        node whose intercept is known has no intercept parameter.
    loc : Loc
        Where the node is first mentioned (not compared).
    """

    name: str
    family: Family
    terms: tuple[Term, ...]
    params: tuple[Param, ...]
    role: str
    loc: Loc | None = field(default=None, compare=False)
    levels: int | None = None  # an ordinal node's number of levels
    clusters: tuple[ClusterEffect, ...] = ()  # random intercepts (and slopes) by cluster columns
    known: tuple[Known, ...] = ()  # coefficients given, not estimated (a model transform's)

    @property
    def intercept(self) -> Param | None:
        """The intercept parameter; None when the intercept is known (:attr:`known`)."""
        return self.params[0] if self.params and self.params[0].kind == "intercept" else None

    @property
    def fully_known(self) -> bool:
        """No parameter and no design: a distribution given outright (a transform's confounder, independent of all)."""
        return not self.params and not self.terms and not self.known_terms

    @property
    def known_terms(self) -> tuple[Term, ...]:
        """The terms with a known coefficient, in the order of :attr:`known` (the intercept aside)."""
        return tuple(Term.parse(k.term) for k in self.known if k.term != INTERCEPT)

    def known_predictor(self, columns, extras: dict):
        """The known part of the linear predictor (0 when nothing is known): NumPy arrays or tensors.

        ``columns`` maps each factor to its values, ``extras`` each extra parameter's kind to its value.

        Examples
        --------
        >>> import numpy as np
        >>> node = NodeModel("y", None, (), (), "outcome", known=(Known("1", 0.5), Known("u", 2.0)))
        >>> node.known_predictor({"u": np.array([0.0, 1.0])}, {}).tolist()
        [0.5, 2.5]
        """
        eta = 0.0
        for k in self.known:
            value = 1.0 if k.term == INTERCEPT else Term.parse(k.term).values(columns)
            eta = eta + k.coefficient(extras) * value
        return eta

    @property
    def beta(self) -> Param | None:
        return next((p for p in self.params if p.kind == "beta"), None)

    @property
    def extras(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.kind not in ("intercept", "beta"))

    @property
    def term_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)

    @property
    def parents(self) -> tuple[str, ...]:
        """The nodes the design reads, each once, in the order of the terms (known ones last)."""
        return tuple(dict.fromkeys(n for t in self.terms + self.known_terms for n in t.nodes))

    def equation(self) -> str:
        """The GLM as one line: family, link and design terms.

        Examples
        --------
        >>> import dagmed
        >>> ir = ModelIR.from_analysis(dagmed.check(dagmed.parse("treatment t\\noutcome y\\nt -> y ~ poisson\\n")))
        >>> ir.node("y").equation()
        'y ~ poisson(log: t)'
        >>> ir = ModelIR.from_analysis(dagmed.check(dagmed.parse("treatment t\\noutcome y\\nt -> y ~ poisson\\ncluster g: t -> y\\n")))
        >>> ir.node("y").equation()
        'y ~ poisson(log: t) + (1 + t | g)'
        """
        glm = f"{self.name} ~ {self.family.name}({self.family.link.name}: {', '.join(self.term_names) or '1'})"
        # random effects as lme4 writes them: (1 | school), (1 + t | school)
        return glm + "".join(f" + (1{' + ' + c.slope if c.slope else ''} | {c.column})" for c in self.clusters)

    def predictor(self, intercept, beta, columns):
        """The linear predictor ``intercept + sum_j beta[..., j] * term_j`` (NumPy, any broadcastable shapes).

        ``beta``'s last axis runs over the terms, then the known ones (:attr:`known_terms`), as
        :class:`~dagmed.model.draws.NodeDraws` has them; ``columns`` maps each factor to its values.
        A categorical node's ``intercept`` and ``beta`` have a trailing level axis (``beta``'s
        terms second to last), and so has the predictor.
        """
        eta = intercept
        for j, term in enumerate(self.terms + self.known_terms):
            if self.family.vector:
                eta = eta + beta[..., j, :] * term.values(columns)[..., None]
            else:
                eta = eta + beta[..., j] * term.values(columns)
        return eta


@dataclass(frozen=True)
class ModelIR:
    """Every modelled node of a checked analysis, in the order the model creates them.

    Attributes
    ----------
    spec : Spec
        The resolved spec (codings, missing-value policy, locations for messages).
    treatment, outcome : str
    mediators, covariates, other : tuple of str
        The roles, each in spec order.
    data_nodes : tuple of str
        Every observed node, parents first (ties in spec order): the columns a dataset
        supplies and the model's variables along ``obs_id``.
    nodes : tuple of NodeModel
        The data nodes with a family, in the same order: one GLM each.
    analysis : Analysis
        What the IR was built from (not compared).
    """

    spec: Spec
    treatment: str
    outcome: str
    mediators: tuple[str, ...]
    covariates: tuple[str, ...]
    other: tuple[str, ...]
    data_nodes: tuple[str, ...]
    nodes: tuple[NodeModel, ...]
    analysis: Analysis = field(compare=False, repr=False)

    @classmethod
    def from_analysis(cls, analysis: Analysis) -> ModelIR:
        """Build the IR of ``analysis`` (checked or not: nodes without a family are data only).

        Examples
        --------
        >>> import dagmed
        >>> ir = ModelIR.from_analysis(dagmed.analyse(dagmed.parse("treatment t\\noutcome y\\nt -> m -> y ~ bernoulli\\n")))
        >>> [n.name for n in ir.nodes], ir.exogenous, ir.family("m") is None  # m has no family: data only
        (['y'], ('t', 'm'), True)
        """
        g, spec = analysis.graph, analysis.spec
        order = {n: i for i, n in enumerate(g.nodes)}
        topo = nx.lexicographical_topological_sort(g, key=order.__getitem__)
        data_nodes = tuple(n for n in topo if g.nodes[n]["observed"])
        edge_priors = {(e.parent, e.child): e.prior for e in spec.edges}
        nodes = tuple(_node_model(analysis, n, edge_priors) for n in data_nodes if g.nodes[n]["family"])
        return cls(
            spec=spec,
            treatment=analysis.treatment,
            outcome=analysis.outcome,
            mediators=analysis.mediators,
            covariates=analysis.covariates,
            other=analysis.other,
            data_nodes=data_nodes,
            nodes=nodes,
            analysis=analysis,
        )

    @cached_property
    def _by_name(self) -> dict[str, NodeModel]:
        return {n.name: n for n in self.nodes}

    def node(self, name: str) -> NodeModel:
        """The GLM of ``name``; KeyError (naming it) when it is not modelled."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{name} is not a modelled node") from None

    def is_modelled(self, name: str) -> bool:
        return name in self._by_name

    def family(self, name: str) -> Family | None:
        """The family of a data node, None for one without a model (exogenous data)."""
        node = self._by_name.get(name)
        return node.family if node else None

    @property
    def exogenous(self) -> tuple[str, ...]:
        """Data nodes without a model: ``pm.Data`` containers, set from the data."""
        return tuple(n for n in self.data_nodes if n not in self._by_name)

    @property
    def params(self) -> tuple[Param, ...]:
        """Every parameter, in the model's creation order: each node's GLM, then its cluster sds (and correlations)."""
        return tuple(p for node in self.nodes for p in (*node.params, *(q for c in node.clusters for q in c.params)))

    @property
    def cluster_columns(self) -> tuple[str, ...]:
        """The cluster columns the model reads, in the order the spec names them."""
        return tuple(dict.fromkeys(t.column for t in self.spec.clusters))

    @property
    def glm_params(self) -> tuple[Param, ...]:
        """The GLMs' own parameters (intercepts, coefficients, the families' extras), without the clusters'."""
        return tuple(p for node in self.nodes for p in node.params)

    @property
    def contrast(self) -> tuple[float, float]:
        """The treatment's ``(active, reference)`` values: the spec's ``contrast``, else ``(1, 0)``."""
        return self.spec.contrast or (1.0, 0.0)

    def loc_of(self, node: str) -> dict:
        """Keyword arguments locating an error at ``node``'s first mention in the spec."""
        return self.spec.loc_of(node)


def _node_model(analysis: Analysis, node: str, edge_priors: dict) -> NodeModel:
    g, spec = analysis.graph, analysis.spec
    fam = FAMILIES[g.nodes[node]["family"]]
    node_priors = spec.node_priors(node)
    parents = dag.observed_parents(g, node)
    rank = {p: i for i, p in enumerate(parents)}
    # main effects in the order of the parents, then the product terms as written, each with
    # its factors in that order too (t:m, never m:t); a parent with levels (ordinal) is one
    # indicator per level but the first, so a term of it is one term per level
    coefficients = [(t, edge_priors[(p, node)]) for p in parents for t in _expand((p,), g)]
    coefficients += [
        (t, pt.prior)
        for pt in spec.products
        if pt.child == node
        for t in _expand(tuple(sorted(pt.factors, key=rank.__getitem__)), g)
    ]
    terms = tuple(t for t, _ in coefficients)
    levels = g.nodes[node].get("levels")
    # a categorical node: one intercept and one coefficient per term for each level but the first
    by_level = dict(level_dim=names.levels_dim(node), levels=tuple(map(str, range(1, levels)))) if fam.vector else {}
    params = [Param(names.intercept(node), "intercept", (node_priors.intercept,), **by_level)]
    if terms:
        params.append(
            Param(
                names.beta(node),
                "beta",
                tuple(prior for _, prior in coefficients),
                names.parents_dim(node),
                tuple(t.name for t in terms),
                **by_level,
            )
        )
    for x in fam.extras:
        if x.per_level:  # one per level above the second: an ordinal node's gaps between cutpoints
            params.append(
                Param(
                    names.extra(node, x.name),
                    x.name,
                    (node_priors.extra(x.name),) * (levels - 2),
                    names.levels_dim(node),
                    tuple(str(level) for level in range(2, levels)),
                    positive=x.positive,
                )
            )
        else:
            params.append(Param(names.extra(node, x.name), x.name, (node_priors.extra(x.name),), positive=x.positive))
    clusters = tuple(_cluster_effect(t) for t in spec.clusters if t.node == node)
    if clusters and fam.vector:
        raise SpecError(
            f"cluster {clusters[0].column}: {node} is {fam.name}; random intercepts of a node with one predictor "
            f"per level are not supported",
            **spec.loc_of(node),
        )
    return NodeModel(node, fam, terms, tuple(params), g.nodes[node]["role"], g.nodes[node]["loc"], levels, clusters)


def _cluster_effect(term: ClusterTerm) -> ClusterEffect:
    node, column = term.node, term.column
    sd = Param(names.cluster_sd(node, column), "sd", (term.sd,), positive=True)
    if term.slope is None:
        return ClusterEffect(column, sd, names.cluster_z(node, column), names.cluster_dim(column))
    return ClusterEffect(
        column,
        sd,
        names.cluster_z(node, column),
        names.cluster_dim(column),
        term.slope,
        Param(names.slope_sd(node, column), "slope_sd", (term.slope_sd,), positive=True),
        names.slope_z(node, column),
        Param(names.cluster_corr(node, column), "corr", (Dist("lkj", (), (("eta", term.eta),)),)),
    )


def _expand(factors: tuple[str, ...], g) -> list[Term]:
    """The terms of a product of ``factors``: a factor with levels becomes one indicator per level but the first."""
    choices = []
    for f in factors:
        levels = g.nodes[f].get("levels")
        choices.append([f] if not levels else [f"{f}[{level}]" for level in range(1, levels)])
    return [Term(combo) for combo in itertools.product(*choices)]
