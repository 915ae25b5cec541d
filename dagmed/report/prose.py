"""The run in words: what the effects measure, the contrast, and the summary paragraph.

Everything here reads the ``effects.json`` document (:mod:`dagmed.report.document`), so the
terminal, the report and ``dagmed plot`` on a finished run say the same thing.
"""

from __future__ import annotations

from ..effects.kinds import DE, DEP, IIE, INT, PM, TE, kind_of
from ..lang.vocabulary import SCALES

# Effects whose whole HDI lies this close to no effect are folded into one terminal line.
NEGLIGIBLE = 0.001
# The kinds that may be folded: terms of the decomposition besides the direct effect.
FOLDABLE = {IIE.symbol: "indirect effect", INT.symbol: "interaction term", DEP.symbol: "DEP"}
# Shares of the total effect in words, for a proportion mediated.
SHARES = (
    (0.1, "a tenth"),
    (0.2, "a fifth"),
    (0.25, "a quarter"),
    (1 / 3, "a third"),
    (0.5, "half"),
    (2 / 3, "two thirds"),
    (0.75, "three quarters"),
    (1.0, "all"),
)


def measure(scale: str, binary: bool) -> str:
    """What an effect on ``scale`` is for an outcome that is binary or not.

    Parameters
    ----------
    scale : {"diff", "rr", "or"}
    binary : bool
        Whether the outcome is binary (its family's support).

    Returns
    -------
    str
        ``risk difference``, ``mean difference``, ``risk ratio``, ``mean ratio`` or ``odds ratio``.

    Examples
    --------
    >>> measure("diff", True), measure("diff", False), measure("rr", True), measure("rr", False), measure("or", True)
    ('risk difference', 'mean difference', 'risk ratio', 'mean ratio', 'odds ratio')
    """
    if scale == "or":
        return "odds ratio"
    what = "risk" if binary else "mean"
    return f"{what} {'ratio' if SCALES[scale].ratio else 'difference'}"


def contrast_label(treatment: str, active: float, reference: float) -> str:
    """The contrast every effect compares: ``treat 1 vs 0``.

    Examples
    --------
    >>> contrast_label("treat", 1.0, 0.0), contrast_label("dose", 2.5, 0.0)
    ('treat 1 vs 0', 'dose 2.5 vs 0')
    """
    return f"{treatment} {active:g} vs {reference:g}"


def axis_label(doc: dict) -> str:
    """What the effects measure and the contrast, as an axis or a header says it: ``risk difference, treat 1 vs 0``.

    A document written before these fields existed falls back to its scale's description.

    Examples
    --------
    >>> axis_label({"measure": "odds ratio", "contrast": {"treatment": "t", "active": 1.0, "reference": 0.0}})
    'odds ratio, t 1 vs 0'
    """
    c = doc.get("contrast") or {}
    what = doc.get("measure") or SCALES[doc.get("scale", "diff")].description.split(":")[0]
    if "active" not in c:
        return what
    return f"{what}, {contrast_label(c['treatment'], c['active'], c['reference'])}"


def number(v: float | None) -> str:
    """Three decimals with a true minus sign (``−0.156``); ``n/a`` for a missing value.

    Examples
    --------
    >>> number(-0.1564), number(0.5), number(None)
    ('−0.156', '0.500', 'n/a')
    """
    return "n/a" if v is None else f"{v:.3f}".replace("-", "\N{MINUS SIGN}")


def negligible(row: dict, null: float) -> bool:
    """Whether an effect's whole HDI lies within ``null ± NEGLIGIBLE`` (a foldable kind only).

    Examples
    --------
    >>> negligible({"name": "INT[a,b]", "hdi_low": -0.0004, "hdi_high": 0.0009}, 0.0)
    True
    >>> negligible({"name": "DE", "hdi_low": -0.0004, "hdi_high": 0.0009}, 0.0)  # never folded
    False
    """
    if kind_of(row["name"]).symbol not in FOLDABLE or row["hdi_low"] is None or row["hdi_high"] is None:
        return False
    return null - NEGLIGIBLE <= row["hdi_low"] and row["hdi_high"] <= null + NEGLIGIBLE


def folded_line(names, null: float, where: str | None) -> str | None:
    """The one line that stands for the negligible effects ``names``, or None when there are none.

    Examples
    --------
    >>> folded_line(["INT[a,b]", "INT[a,c]", "INT[b,c]", "INT[a,b,c]"], 0.0, "effects.csv")
    '4 interaction terms, all within ±0.001; see effects.csv'
    >>> folded_line(["INT[a,b]", "DEP"], 1.0, None)
    '1 interaction term and DEP, all within 1 ± 0.001; in effects.json and effects.csv with --out'
    """
    names = list(names)
    if not names:
        return None
    counts: dict[str, int] = {}
    for n in names:
        counts[kind_of(n).symbol] = counts.get(kind_of(n).symbol, 0) + 1
    parts = []
    for symbol, k in counts.items():
        word = FOLDABLE[symbol]
        parts.append(word if symbol == DEP.symbol else f"{k} {word}{'s' if k > 1 else ''}")
    within = f"±{NEGLIGIBLE:g}" if null == 0 else f"{null:g} ± {NEGLIGIBLE:g}"
    see = f"see {where}" if where else "in effects.json and effects.csv with --out"
    return f"{' and '.join(parts)}, all within {within}; {see}"


def _share(pm: float) -> str:
    """What a proportion mediated says in words: ``carries about a quarter``."""
    if pm < 0:
        return "works against it"
    if pm < 0.05:
        return "carries almost none"
    if pm > 1.1:
        return "carries more than all of it"
    word = min(SHARES, key=lambda s: abs(s[0] - pm))[1]
    return f"carries about {word}"


def _interval(row: dict, hdi: str) -> str:
    return f"{hdi} {number(row['hdi_low'])} to {number(row['hdi_high'])}"


def summary_paragraph(doc: dict) -> str:
    """One paragraph that answers the question, made from the run's numbers.

    The total effect with its interval, in the run's measure and contrast; the direct effect;
    each mediator's share (its proportion mediated, when the total effect's interval excludes
    no effect); and the effects too small to show.

    Parameters
    ----------
    doc : dict
        The ``effects.json`` document.

    Returns
    -------
    str
        One line of prose.

    Examples
    --------
    >>> doc = {"treatment": "treat", "outcome": "relapse", "mediators": ["adherence"], "scale": "diff",
    ...        "measure": "risk difference", "hdi_prob": 0.95,
    ...        "contrast": {"treatment": "treat", "active": 1.0, "reference": 0.0},
    ...        "effects": [{"name": "TE", "mean": -0.156, "median": -0.157, "hdi_low": -0.226, "hdi_high": -0.082},
    ...                    {"name": "DE", "mean": -0.101, "median": -0.1, "hdi_low": -0.183, "hdi_high": -0.014},
    ...                    {"name": "IIE[adherence]", "mean": -0.041, "median": -0.04, "hdi_low": -0.065, "hdi_high": -0.018},
    ...                    {"name": "PM[adherence]", "mean": 0.3, "median": 0.261, "hdi_low": 0.101, "hdi_high": 0.492}]}
    >>> print(summary_paragraph(doc))  # doctest: +NORMALIZE_WHITESPACE
    Treatment treat (1 vs 0) changed the probability of relapse by −0.156 (95% HDI −0.226 to −0.082).
    The direct effect (not through the mediators) is −0.101 (95% HDI −0.183 to −0.014).
    Of the total effect, adherence carries about a quarter (proportion mediated 0.261, 95% HDI 0.101 to 0.492).
    """
    effects = {e["name"]: e for e in doc["effects"]}
    scale = SCALES[doc.get("scale", "diff")]
    null = scale.null
    hdi = f"{doc['hdi_prob']:.0%} HDI"
    te = effects[TE.symbol]
    what = doc.get("measure", "")
    of = "the odds" if what == "odds ratio" else "the probability" if what.startswith("risk") else "the mean"
    verb = "multiplied" if scale.ratio else "changed"
    c = doc.get("contrast") or {}
    contrast = f" ({c['active']:g} vs {c['reference']:g})" if "active" in c else ""
    sentences = [
        f"Treatment {doc['treatment']}{contrast} {verb} {of} of {doc['outcome']} by {number(te['mean'])} "
        f"({_interval(te, hdi)})"
        + ("" if _excludes(te, null) else f", an interval that includes no effect ({null:g})")
        + "."
    ]
    if DE.symbol in effects:
        de = effects[DE.symbol]
        direct = "direct effect (not through the mediators)" if doc.get("mediators") else "direct effect"
        sentences.append(f"The {direct} is {number(de['mean'])} ({_interval(de, hdi)}).")
    shares = [(m, effects.get(f"{PM.symbol}[{m}]")) for m in doc.get("mediators", [])]
    shares = [(m, pm) for m, pm in shares if pm is not None and pm.get("median") is not None]
    if shares and _excludes(te, null):
        log = " on the log scale" if scale.ratio else ""
        parts = [
            f"{m} {_share(pm['median'])} (proportion mediated {number(pm['median'])}, {_interval(pm, hdi)}"
            f"{'' if _excludes(pm, 0.0) else ', which includes none'})"
            for m, pm in shares
        ]
        sentences.append(f"Of the total effect{log}, {_join(parts)}.")
    elif shares:
        sentences.append(
            "With a total effect this uncertain, the share each mediator carries is not estimated well "
            "(the proportions mediated are in the table)."
        )
    tiny = [e["name"] for e in doc["effects"] if negligible(e, null)]
    if tiny:
        sentences.append(f"{folded_line(tiny, null, 'effects.csv').split(';')[0]}.")
    return " ".join(sentences)


def _excludes(row: dict, null: float) -> bool:
    """Whether the HDI lies wholly on one side of no effect."""
    lo, hi = row.get("hdi_low"), row.get("hdi_high")
    return lo is not None and hi is not None and (hi < null or lo > null)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]
