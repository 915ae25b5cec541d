"""report.html's sections read from files: the sensitivity section of a ``dagmed sensitivity`` directory."""

from matplotlib.figure import Figure

from dagmed.report import html


def test_the_sensitivity_section_shows_tipping_points_covariates_and_pictures(tmp_path):
    (tmp_path / "tipping.csv").write_text(
        "mediator,effect,strength_y,tipping,beyond,grid_max\nm1,IIE[m1],,1.5,False,2.0\nm1,IIE[m2],,,True,2.0\n"
    )
    (tmp_path / "coefficients.csv").write_text("node,covariate,change,mean,hdi_low,hdi_high\ny,x,0 to 1,0.4,0.3,0.5\n")
    Figure().savefig(tmp_path / "sensitivity_m1.png")
    section = html.sensitivity_section(tmp_path)
    assert "<td>m1</td><td>IIE[m1]</td><td>= strength</td><td>1.5</td>" in section
    assert "beyond the grid (|strength| &le; 2.0)" in section
    assert "x &rarr; y</td><td>0.40</td><td>[0.30, 0.50]</td><td>0 to 1" in section
    assert section.count("<img") == 1 and "confounder of m1" in section


def test_a_directory_without_tipping_points_says_so(tmp_path):
    assert "has no tipping.csv" in html.sensitivity_section(tmp_path)
