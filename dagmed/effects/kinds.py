"""What dagmed reports: the effect kinds and the conventions, as descriptors (MATH.md section 3).

An effect's name (``IIE[m]``, ``INT[m1,m2]``) is its :class:`Kind` and the mediators it is
about; :meth:`Effect.parse` reads it back, so no stage tests a name's prefix. Each kind
says what it means (the report's glossary), whether it is a term of the decomposition
``TE = DE + IIEs + INTs + DEP``, and whether it is a ratio of draws (shown by its median).

Examples
--------
>>> Effect(IIE, ("m",)).name, Effect.parse("INT[m1,m2]").mediators
('IIE[m]', ('m1', 'm2'))
>>> kind_of("PM[m]").centre, kind_of("DE").component, kind_of("TE").component
('median', True, False)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of effect.

    Attributes
    ----------
    symbol : str
        ``TE``, ``DE``, ``IIE``, ``INT``, ``DEP`` or ``PM``.
    label : str
        How the glossary writes it (``IIE[m]``).
    meaning : str
        One line: what it is.
    mediators : int
        How many mediators it names: 0, 1, or -1 for a set of two or more.
    component : bool
        A term of ``TE = DE + IIEs + INTs + DEP`` in every draw.
    ratio : bool
        A ratio of draws (a proportion mediated): its mean and sd are unstable where the
        denominator is near 0, so it is shown by its median.
    """

    symbol: str
    label: str
    meaning: str
    mediators: int = 0
    component: bool = False
    ratio: bool = False

    def takes(self, n: int) -> bool:
        """Whether an effect of this kind may name ``n`` mediators."""
        return n >= 2 if self.mediators == -1 else n == self.mediators

    @property
    def centre(self) -> str:
        """The centre the tables show: ``"median"`` for a ratio, else ``"mean"``."""
        return "median" if self.ratio else "mean"


TE = Kind("TE", "TE", "total effect: the treatment against the control, mediators following the treatment")
DE = Kind(
    "DE",
    "DE",
    "direct effect: the treatment changes, the mediators keep their distribution under the control",
    component=True,
)
IIE = Kind(
    "IIE",
    "IIE[m]",
    "interventional indirect effect through m: only m's distribution is shifted to its treated one",
    mediators=1,
    component=True,
)
INT = Kind(
    "INT",
    "INT[...]",
    "interaction: what shifting those mediators together adds to shifting each alone",
    mediators=-1,
    component=True,
)
DEP = Kind(
    "DEP",
    "DEP",
    "the remainder: how the direct and indirect paths interact, and (dependent mediators) "
    "what the mediators' dependence adds",
    component=True,
)
PM = Kind("PM", "PM[m]", "proportion mediated through m, IIE[m] / TE per draw", mediators=1, ratio=True)

KINDS = {k.symbol: k for k in (TE, DE, IIE, INT, DEP, PM)}


@dataclass(frozen=True)
class Effect:
    """An effect: its kind and the mediators it is about (spec order).

    Examples
    --------
    >>> Effect(TE).name, Effect(PM, ("dev_peer",)).name
    ('TE', 'PM[dev_peer]')
    >>> Effect.parse("IIE[dev_peer]") == Effect(IIE, ("dev_peer",))
    True
    >>> Effect.parse("XYZ")
    Traceback (most recent call last):
    ValueError: not an effect name: 'XYZ'; valid kinds are TE, DE, IIE, INT, DEP, PM
    >>> Effect.parse("INT[m]")  # an interaction is of two mediators or more
    Traceback (most recent call last):
    ValueError: not an effect name: 'INT[m]'; valid kinds are TE, DE, IIE, INT, DEP, PM
    """

    kind: Kind
    mediators: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.kind.symbol}[{','.join(self.mediators)}]" if self.kind.mediators else self.kind.symbol

    @classmethod
    def parse(cls, name: str) -> Effect:
        symbol, bracket, rest = name.partition("[")
        kind = KINDS.get(symbol)
        mediators = tuple(rest[:-1].split(",")) if bracket else ()
        well_formed = not bracket or rest.endswith("]")
        if kind is None or not well_formed or "" in mediators or not kind.takes(len(mediators)):
            raise ValueError(f"not an effect name: {name!r}; valid kinds are {', '.join(KINDS)}")
        return cls(kind, mediators)


def kind_of(name: str) -> Kind:
    """The kind of the effect called ``name`` (:meth:`Effect.parse`)."""
    return Effect.parse(name).kind


@dataclass(frozen=True)
class Convention:
    """At which treatment level the indirect effects are taken (MATH.md section 3).

    Attributes
    ----------
    name : str
    level : int
        The outcome's treatment level ``t`` of the indirect effects and interactions.
    description : str
    """

    name: str
    level: int
    description: str


CONVENTIONS = {
    c.name: c
    for c in (
        Convention("control", 0, "indirect effects at the control outcome level, E(0; .) (default; docs/effects.md)"),
        Convention(
            "treated",
            1,
            "indirect effects at the treated outcome level, E(1; .), joint mediators for TE and DE (intmed)",
        ),
    )
}


def interaction_sets(mediators) -> list[tuple[str, ...]]:
    """Every mediator set of size >= 2 (one ``INT`` each), smaller sets first, each in spec order.

    Examples
    --------
    >>> interaction_sets(("a", "b", "c"))
    [('a', 'b'), ('a', 'c'), ('b', 'c'), ('a', 'b', 'c')]
    """
    return [s for r in range(2, len(mediators) + 1) for s in itertools.combinations(mediators, r)]


def regime_labels(mediators) -> list[tuple[int, tuple[int, ...]]]:
    """``(t, (t_1..t_K))`` of every regime ``E(t; t_1..t_K)``, in the flattened order of the regime table.

    Examples
    --------
    >>> regime_labels(("m",))
    [(0, (0,)), (0, (1,)), (1, (0,)), (1, (1,))]
    """
    return [(c[0], tuple(c[1:])) for c in itertools.product((0, 1), repeat=len(mediators) + 1)]
