"""A self-contained HTML report: assumptions, effect table, diagnostics and the pictures.

What each effect means comes from the effect kinds (:mod:`dagmed.effects.kinds`).
"""

from __future__ import annotations

import base64
import csv
import html
from pathlib import Path

from ..effects.kinds import KINDS, kind_of
from ..lang.vocabulary import SCALES
from . import prose, text
from .text import centre, pm_note

FIRST_PICTURE = "forest.png"  # the key picture, shown under the effect table
CAPTIONS = {
    "forest.png": "Total effect and its components (the key picture)",
    "effects.png": "Posterior of each effect",
    "dag.png": "The causal DAG",
    "model_graph.png": "The compiled PyMC model",
    "data.png": "Data",
    "rates_by_treatment.png": "Rates by treatment",
    "prior_predictive.png": "Prior predictive check",
    "trace.png": "Trace plots",
    "posterior_predictive.png": "Posterior predictive check",
    "pair.png": "Path coefficients and effects",
}


DOCS = "docs/effects.md (the effects and conventions) and docs/checks.md (what each check means)"


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _effect_row(x: dict) -> str:
    """One row of the effect table: the centre it shows (:func:`dagmed.report.text.centre`), then the interval."""
    c = centre(x["name"]) if "median" in x else "mean"  # a run written before medians were kept
    sd = _fmt(x["sd"]) if c == "mean" else "-"
    return (
        f"<tr><td>{html.escape(x['name'])}</td><td>{c}</td><td>{_fmt(x[c])}</td><td>{sd}</td>"
        f"<td>[{_fmt(x['hdi_low'])}, {_fmt(x['hdi_high'])}]</td><td>{_fmt(x.get('p_lt_0', x.get('p_lt_1')))}</td></tr>"
    )


def _null(doc: dict) -> float:
    """The value of no effect on the run's scale (a run written before scales: differences)."""
    return SCALES[doc.get("scale", "diff")].null


def _glossary(doc: dict) -> str:
    """What the effects mean, and where the definitions are."""
    e = html.escape
    items = "".join(f"<li><code>{e(k.label)}</code>: {e(k.meaning)}</li>" for k in KINDS.values())
    note = (
        f"<p>{e(pm_note(doc.get('scale', 'diff')))}.</p>"
        if any(kind_of(x["name"]).ratio for x in doc["effects"])
        else ""
    )
    return (
        f"{note}<p>Every draw: TE = DE + the IIEs + the INTs + DEP.</p><ul>{items}</ul>"
        f"<p>Definitions: {e(DOCS)}, in dagmed's repository.</p>"
    )


def _verdict(doc: dict) -> str:
    """The data's verdict on the graph (its tested implications) and on the priors (psens)."""
    e = html.escape
    out = ["<h2>The data's verdict</h2>", "<h3>On the graph: the independencies it implies</h3>"]
    tests = doc.get("implications") or []
    contradicted = [t["message"] for t in tests if t.get("message")]
    if contradicted:
        out.append('<ul class="warn">' + "".join(f"<li>{e(m)}</li>" for m in contradicted) + "</ul>")
    out.append(f"<p>{e(doc.get('implications_summary') or 'no implication of the graph could be tested')}.</p>")
    sens = doc.get("prior_sensitivity") or []
    out.append("<h3>On the priors: power-scaling sensitivity</h3>")
    if not sens:
        out.append("<p>Not computed for this run.</p>")
        return "\n".join(out)
    flagged = [s for s in sens if s["flagged"]]
    if flagged:
        shown = "; ".join(
            f"{s['name']} ({s['prior']:.2f}{', ' + s['diagnosis'] if s['diagnosis'] else ''})" for s in flagged
        )
        out.append(f'<p class="warn">prior-sensitive (above 0.05): {e(shown)}</p>')
    else:
        out.append('<p class="ok">No parameter or effect is prior-sensitive (every score &le; 0.05).</p>')
    effects = {x["name"] for x in doc["effects"]}
    rows = []
    for s in sens:
        if s["name"] not in effects:
            continue
        moved = [s["scaled_means"].get(a) for a in ("0.8", "1.25")]
        rows.append(
            f"<tr><td>{e(s['name'])}</td><td>{_fmt(s['prior'])}</td><td>{_fmt(s['likelihood'])}</td>"
            f"<td>{e(s['diagnosis'] or '')}</td><td>{_fmt(moved[0])}</td><td>{_fmt(s['mean'])}</td>"
            f"<td>{_fmt(moved[1])}</td></tr>"
        )
    out.append(
        "<p>How each effect's posterior mean moves when the prior is power-scaled by &alpha; "
        "(&alpha; &lt; 1 weakens it, &alpha; &gt; 1 strengthens it):</p>"
    )
    out.append(
        "<table><tr><th>effect</th><th>prior sensitivity</th><th>likelihood sensitivity</th>"
        "<th>diagnosis</th><th>mean at &alpha; = 0.8</th><th>mean</th><th>mean at &alpha; = 1.25</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return "\n".join(out)


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def sensitivity_section(directory: Path | None) -> str:
    """The section of a ``dagmed sensitivity --out DIR`` directory: tipping points, measured covariates, pictures.

    Empty without a directory. Read from its files alone (``tipping.csv``, ``coefficients.csv``,
    ``sensitivity_<mediator>.png``; docs/sensitivity.md), so any run's report can show it.

    Examples
    --------
    >>> sensitivity_section(None)
    ''
    """
    if directory is None:
        return ""
    e = html.escape
    directory = Path(directory)
    tipping = _rows(directory / "tipping.csv")
    out = [
        '<h2 id="sensitivity">Sensitivity to an unmeasured mediator-outcome confounder</h2>',
        f"<p>From {e(str(directory))}: a binary U ~ Bernoulli(1/2) adds <i>strength</i> to a mediator's linear "
        "predictor and <i>strength_y</i> to the outcome's (log-odds for bernoulli nodes, log for counts, residual "
        "sds for normal ones). The tipping point is the smallest strength at which the indirect effect's HDI "
        "includes the null; see docs/sensitivity.md.</p>",
    ]
    if not tipping:
        out.append(
            f'<p class="warn">{e(str(directory))} has no tipping.csv: not a finished dagmed sensitivity run.</p>'
        )
        return "\n".join(out)
    body = "".join(
        f"<tr><td>{e(t['mediator'])}</td><td>{e(t['effect'])}</td><td>{e(t['strength_y'] or '= strength')}</td>"
        f"<td>{'beyond the grid (|strength| &le; ' + e(t['grid_max']) + ')' if t['beyond'] == 'True' else e(t['tipping'])}</td></tr>"
        for t in tipping
    )
    out.append(
        "<table><tr><th>U of mediator</th><th>effect</th><th>strength_y</th><th>tipping point</th></tr>"
        + body
        + "</table>"
    )
    coefficients = _rows(directory / "coefficients.csv")
    if coefficients:
        body = "".join(
            f"<tr><td>{e(c['covariate'])} &rarr; {e(c['node'])}</td><td>{float(c['mean']):.2f}</td>"
            f"<td>[{float(c['hdi_low']):.2f}, {float(c['hdi_high']):.2f}]</td><td>{e(c['change'])}</td></tr>"
            for c in coefficients
        )
        out.append(
            "<p>Measured covariates on the same scale, for comparison (the change of the linear predictor):</p>"
            "<table><tr><th>covariate</th><th>mean</th><th>95% HDI</th><th>change</th></tr>" + body + "</table>"
        )
    for p in sorted(directory.glob("sensitivity_*.png")):
        out.append(_figure(p, f"Effects against the strength of the confounder of {p.stem[len('sensitivity_') :]}"))
    return "\n".join(out)


def render(doc: dict, check_text: str, plots_dir: Path, sensitivity: Path | None = None) -> str:
    """The report as one HTML string, images embedded as base64 PNG.

    The first screen answers the question: the summary paragraph, the effect table (headed by
    what the effects measure and the contrast) and the forest plot; the spec, its equations and
    priors, the data's verdict, the diagnostics and the other pictures follow; with
    ``sensitivity``, a ``dagmed sensitivity`` directory's section (:func:`sensitivity_section`) after the verdict.
    """
    e = html.escape
    rows = "\n".join(_effect_row(x) for x in doc["effects"])
    d = doc["diagnostics"]
    bad = []
    if d.get("rhat_max") is not None and d["rhat_max"] > 1.01:
        bad.append(f"R-hat up to {d['rhat_max']:.3f} (&gt; 1.01)")
    if d.get("ess_bulk_min") is not None and d["ess_bulk_min"] < 400:
        bad.append(f"bulk ESS as low as {d['ess_bulk_min']:.0f} (&lt; 400)")
    if d.get("divergences"):
        bad.append(f"{d['divergences']} divergent transitions")
    warning = (
        f'<p class="warn">Warning: {"; ".join(bad)}. The numbers below may not be reliable.</p>'
        if bad
        else '<p class="ok">Diagnostics look fine: R-hat &le; 1.01, bulk ESS &ge; 400, no divergences.</p>'
    )
    images = []
    order = list(CAPTIONS) + sorted(p.name for p in plots_dir.glob("*.png") if p.name not in CAPTIONS)
    for name in order:
        p = plots_dir / name
        if p.exists():
            images.append(_figure(p, CAPTIONS.get(name, name)))
    first = images.pop(0) if (plots_dir / FIRST_PICTURE).exists() else ""  # the forest plot opens the report
    summary = doc.get("summary") or prose.summary_paragraph(doc)
    sampler = doc["sampler"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dagmed report: {e(doc["treatment"])} -&gt; {e(doc["outcome"])}</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
td:first-child {{ text-align: left; font-family: monospace; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
.warn {{ color: #a00; font-weight: bold; }} .ok {{ color: #060; }}
.summary {{ font-size: 1.15em; line-height: 1.5; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>Mediation of {e(doc["treatment"])} on {e(doc["outcome"])}</h1>
<p class="summary" id="summary">{e(summary)}</p>
<h2 id="effects">Effects: {e(prose.axis_label(doc))}</h2>
{warning if bad else ""}
<table><tr><th>effect</th><th>centre</th><th>value</th><th>sd</th><th>{doc["hdi_prob"]:.0%} HDI</th><th>P(&lt;{_null(doc):g})</th></tr>
{rows}
</table>
{_clusters(doc)}
{first}
{_glossary(doc)}
<h2 id="spec">Spec and assumptions</h2>
<pre>{e(check_text)}</pre>
<p>{doc["n_obs"]} observations used; {doc["n_dropped"]} rows dropped with a missing value.{e(" " + doc.get("missing", {}).get("summary", "") + "." if doc.get("missing", {}).get("summary") else "")} Data: {e(str(doc.get("data", "")))}.
Convention: {e(doc.get("convention_description", doc["convention"]))}.
Scale: {e(doc.get("scale_description", "differences of the outcome's mean"))}.</p>
{_verdict(doc)}
{sensitivity_section(sensitivity)}
<h2>Diagnostics</h2>
{warning}
<p>R-hat max {_fmt(d.get("rhat_max"))}, bulk ESS min {d.get("ess_bulk_min") or 0:.0f}, divergences {d.get("divergences")}.
Sampler {e(str(sampler.get("sampler")))}: {sampler.get("chains")} chains x {sampler.get("draws")} draws
({sampler.get("tune")} tuning), seed {sampler.get("seed")}.</p>
<h2>Pictures</h2>
{"".join(images)}
</body></html>
"""


def _clusters(doc: dict) -> str:
    """The cluster sds and intraclass correlations per node, as the terminal shows them (nothing without clusters)."""
    lines = text.format_clusters(doc.get("clusters"))
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
    note = html.escape(doc["clusters"]["implications"])
    return f'<h2 id="clusters">Clusters</h2>\n<p>{html.escape(lines[0])}.</p><ul>{items}</ul><p>Note: {note}.</p>'


def _figure(path: Path, caption: str) -> str:
    """A picture embedded as base64 PNG, with its caption."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}"/>'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )
