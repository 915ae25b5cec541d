"""The run in words: the measure and contrast everywhere they are named, the summary paragraph,
negligible effects folded, and a report that opens with the answer."""

import re
import warnings

import numpy as np
import pytest

from dagmed.compat import inference_data
from dagmed.report import html, plots, prose


def _row(name, mean, low, high, median=None):
    return {"name": name, "mean": mean, "median": mean if median is None else median, "sd": 0.01,
            "hdi_low": low, "hdi_high": high, "p_lt_0": 0.5}  # fmt: skip


def document(scale="diff", measure="risk difference", active=1.0, reference=0.0, te=(-0.156, -0.226, -0.082)):
    """A document shaped like effects.json, for two mediators with four negligible terms."""
    null = 1.0 if scale != "diff" else 0.0
    tiny = (null + 0.0002, null - 0.0006, null + 0.0008)
    return {
        "treatment": "treat",
        "outcome": "relapse",
        "mediators": ["adherence", "support"],
        "scale": scale,
        "measure": measure,
        "hdi_prob": 0.95,
        "contrast": {"treatment": "treat", "active": active, "reference": reference},
        "effects": [
            _row("TE", *te),
            _row("DE", -0.101, -0.183, -0.014),
            _row("IIE[adherence]", -0.041, -0.065, -0.018),
            _row("IIE[support]", *tiny),
            _row("INT[adherence,support]", *tiny),
            _row("DEP", 0.013, 0.001, 0.026),
            _row("PM[adherence]", 0.3, 0.101, 0.492, median=0.261),
            _row("PM[support]", 0.01, -0.05, 0.09, median=0.004),
        ],
    }


@pytest.mark.parametrize(
    "scale, binary, expected",
    [
        ("diff", True, "risk difference"),
        ("diff", False, "mean difference"),
        ("rr", True, "risk ratio"),
        ("rr", False, "mean ratio"),
        ("or", True, "odds ratio"),
    ],
)
def test_measure(scale, binary, expected):
    assert prose.measure(scale, binary) == expected


def test_axis_label_names_the_measure_and_the_contrast():
    assert prose.axis_label(document()) == "risk difference, treat 1 vs 0"
    assert prose.axis_label(document("rr", "risk ratio", 2.5, 0.5)) == "risk ratio, treat 2.5 vs 0.5"


def test_summary_paragraph_is_made_from_the_numbers():
    text = prose.summary_paragraph(document())
    assert text.startswith(
        "Treatment treat (1 vs 0) changed the probability of relapse by −0.156 (95% HDI −0.226 to −0.082)."
    )
    assert "The direct effect (not through the mediators) is −0.101 (95% HDI −0.183 to −0.014)." in text
    assert "adherence carries about a quarter (proportion mediated 0.261, 95% HDI 0.101 to 0.492)" in text
    assert (
        "support carries almost none (proportion mediated 0.004, 95% HDI −0.050 to 0.090, which includes none)" in text
    )
    assert text.endswith("1 indirect effect and 1 interaction term, all within ±0.001.")
    assert "\n" not in text


def test_summary_paragraph_follows_the_numbers_not_a_template():
    doc = document()
    doc["effects"][0] = _row("TE", -0.3, -0.4, -0.2)
    doc["effects"][6] = _row("PM[adherence]", 0.5, 0.3, 0.7, median=0.52)
    text = prose.summary_paragraph(doc)
    assert "by −0.300 (95% HDI −0.400 to −0.200)" in text and "adherence carries about half" in text


@pytest.mark.parametrize(
    "scale, measure, verb",
    [("rr", "risk ratio", "multiplied the probability"), ("or", "odds ratio", "multiplied the odds")],
)
def test_summary_paragraph_on_a_ratio_scale(scale, measure, verb):
    text = prose.summary_paragraph(document(scale, measure, 2.0, 0.0, te=(0.8, 0.7, 0.9)))
    assert text.startswith(f"Treatment treat (2 vs 0) {verb} of relapse by 0.800 (95% HDI 0.700 to 0.900).")
    assert "Of the total effect on the log scale, adherence carries" in text
    assert "all within 1 ± 0.001" in text


def test_a_mean_difference_speaks_of_the_mean():
    text = prose.summary_paragraph(document("diff", "mean difference"))
    assert "changed the mean of relapse by −0.156" in text


def test_an_uncertain_total_effect_is_said_so_and_no_shares_are_claimed():
    text = prose.summary_paragraph(document(te=(-0.05, -0.12, 0.02)))
    assert "(95% HDI −0.120 to 0.020), an interval that includes no effect (0)." in text
    assert "carries about" not in text and "the share each mediator carries is not estimated well" in text


def test_negligible_effects_are_folded_in_one_line():
    doc = document()
    tiny = [e["name"] for e in doc["effects"] if prose.negligible(e, 0.0)]
    assert tiny == ["IIE[support]", "INT[adherence,support]"]  # never TE, DE or a PM; DEP here is not negligible
    assert prose.folded_line(tiny, 0.0, "effects.csv") == (
        "1 indirect effect and 1 interaction term, all within ±0.001; see effects.csv"
    )
    four = ["INT[a,b]", "INT[a,c]", "INT[b,c]", "INT[a,b,c]"]
    assert prose.folded_line(four, 0.0, "effects.csv") == "4 interaction terms, all within ±0.001; see effects.csv"
    assert prose.folded_line([], 0.0, None) is None


def test_an_effect_reaching_past_the_threshold_is_not_folded():
    assert not prose.negligible(_row("INT[a,b]", 0.0005, -0.0002, 0.0012), 0.0)
    assert prose.negligible(_row("INT[a,b]", 1.0, 0.9995, 1.0009), 1.0)


# ---- the report opens with the answer ------------------------------------------------------


def _png(path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1])
    fig.savefig(path)


def test_the_report_opens_with_the_summary_table_and_forest_plot(tmp_path):
    doc = document()
    doc.update(
        summary=prose.summary_paragraph(doc),
        n_obs=10,
        n_dropped=0,
        convention="control",
        diagnostics={"rhat_max": 1.0, "ess_bulk_min": 1000.0, "divergences": 0},
        sampler={"sampler": "nutpie", "chains": 1, "draws": 10, "tune": 10, "seed": 1},
    )
    for name in ("forest.png", "dag.png", "trace.png"):
        _png(tmp_path / name)
    page = html.render(doc, "spec:         s.dag\nequations:\n  relapse ~ bernoulli(logit: treat)", tmp_path)
    body = page[page.index("<body>") :]
    order = [
        body.index('id="summary"'),
        body.index("Effects: risk difference, treat 1 vs 0"),
        body.index("<td>TE</td>"),
        body.index('alt="forest.png"'),
        body.index("Spec and assumptions"),
        body.index("equations:"),
        body.index('alt="dag.png"'),
    ]
    assert order == sorted(order)
    first = re.search(r'<p class="summary" id="summary">(.*?)</p>', body).group(1)
    assert first.startswith("Treatment treat (1 vs 0) changed the probability of relapse by −0.156")
    assert body.count('alt="forest.png"') == 1


# ---- the effects' axes name the measure and the contrast ---------------------------------------


@pytest.fixture
def saved(monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path, crop=False: figures.append(fig) or path)
    return figures


def test_forest_axis_names_measure_and_contrast(saved, tmp_path):
    plots.forest(document("rr", "risk ratio", te=(0.8, 0.7, 0.9)), tmp_path / "f.png")
    assert saved[0].axes[0].get_xlabel().startswith("risk ratio, treat 1 vs 0")


def test_effect_posterior_axes_name_measure_and_contrast(saved, tmp_path):
    import xarray as xr

    doc = document("diff", "mean difference", 2.0, 1.0)
    names = [e["name"] for e in doc["effects"]]
    draws = np.random.default_rng(0).normal(size=(1, 50, len(names)))
    mediation = xr.Dataset({"effects": (("chain", "draw", "effect"), draws)}, coords={"effect": names})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ArviZ 0.x: "mediation" is not one of its groups
        idata = inference_data(mediation=mediation)
    plots.effect_posteriors(idata, doc, tmp_path / "e.png")
    labels = {ax.get_xlabel() for ax in saved[0].axes if ax.get_visible() and ax.axison}
    assert labels == {"mean difference, treat 2 vs 1"}
