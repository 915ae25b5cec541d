"""Data loading: coding, complete cases, and every refusal naming column, row and value."""

import numpy as np
import pandas as pd
import pytest

import dagmed
from dagmed.errors import DataError
from dagmed.model import data
from dagmed.model.ir import ModelIR

from conftest import SPECS

SPEC = "treatment t\noutcome y\nx -> t -> m -> y ~ bernoulli\nm ~ bernoulli\nx, t -> y\ncode x: Male = 1\n"


def model_ir(spec):
    """The model IR of a spec (text or parsed)."""
    spec = dagmed.parse(spec) if isinstance(spec, str) else spec
    return ModelIR.from_analysis(dagmed.check(spec))


def load(csv_text, tmp_path, spec=SPEC):
    p = tmp_path / "d.csv"
    p.write_text(csv_text)
    return data.load(model_ir(spec), p)


def test_substance_complete_cases(substance_csv):
    spec = dagmed.load(SPECS / "substance.dag")
    d = data.load(model_ir(spec), substance_csv)  # the spec's own data statement is a URL
    assert (d.n_obs, d.n_dropped, d.n_rows) == (410, 143, 553)
    assert d.summary() == "dropped 143 of 553 rows with a missing value; 410 used"
    assert set(np.unique(d["gender"])) == {0.0, 1.0}
    raw = pd.read_csv(substance_csv).dropna()
    assert d["gender"].sum() == (raw["gender"] == "Male").sum()
    np.testing.assert_allclose(d["conflict"], raw["conflict"])


def test_one_level_codes_the_other_as_complement(tmp_path):
    d = load("x,t,m,y\nMale,1,0,1\nFemale,0,1,0\nMale,1,1,1\n", tmp_path)
    assert d["x"].tolist() == [1.0, 0.0, 1.0]


def test_dataframe_input():
    spec = dagmed.parse(SPEC)
    df = pd.DataFrame({"x": ["Male", "Female"], "t": [0, 1], "m": [1, 0], "y": [0, 1]})
    assert data.load(model_ir(spec), df).n_obs == 2


@pytest.mark.parametrize(
    "csv, fragment",
    [
        ("x,t,m\nMale,1,0\n", "column(s) y not found; available columns: x, t, m"),
        ("x,t,m,y\nMale,1,0,1\nFemale,0,2,0\n", "column m, row 2: value 2 is not 0 or 1 (bernoulli)"),
        ("x,t,m,y\nMale,1,0,1\nFemale,0,1,abc\n", "column y, row 2: text value 'abc' in a numeric column"),
        (
            "x,t,m,y\nMale,1,0,1\nOther,0,1,0\nFemale,0,1,1\n",
            "column x, row 2: value 'Other' is not a level of 'code x' (Male); levels present: Female, Male, Other",
        ),
        ("x,t,m,y\nMale,1,0,1\nFemale,1,1,0\n", "the treatment t is constant (1)"),
        ("x,t,m,y\nMale,NA,0,1\nFemale,0,NA,0\n", "every one of the 2 rows has a missing value"),
        ("", "is empty"),
        ("x,t,m,y\n", "has a header but no rows"),
    ],
)
def test_data_errors(tmp_path, csv, fragment):
    with pytest.raises(DataError) as info:
        load(csv, tmp_path)
    assert fragment in info.value.message


def test_uncoded_text_column_says_how_to_code_it(tmp_path):
    spec = "treatment t\noutcome y\ng -> t -> y ~ bernoulli\n"
    with pytest.raises(DataError, match=r"column g, row 1: text value 'F' .* say how to code it, e.g. 'code g: M = 1'"):
        load("g,t,y\nF,1,0\nM,0,1\n", tmp_path, spec)


def test_missing_error_policy(tmp_path):
    with pytest.raises(DataError, match="column m, row 2: missing value"):
        load("x,t,m,y\nMale,1,0,1\nFemale,0,,0\n", tmp_path, SPEC + "missing error\n")


def test_missing_and_binary_files(tmp_path):
    a = model_ir(SPEC)
    with pytest.raises(DataError, match="data file not found"):
        data.load(a, tmp_path / "nope.csv")
    (tmp_path / "b.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(DataError, match="not a CSV text file"):
        data.load(a, tmp_path / "b.csv")
    with pytest.raises(DataError, match="no 'data' statement"):
        data.load(a)


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_non_finite_values_are_refused_in_every_used_column(tmp_path, value):
    # x has no family (an exogenous covariate): its values are used as they are, so must be finite
    spec = "treatment t\noutcome y\nx -> t -> y ~ bernoulli\nx -> y\n"
    with pytest.raises(DataError) as info:
        load(f"x,t,y\n0.5,1,0\n{value},0,1\n", tmp_path, spec)
    assert info.value.message.endswith(
        "column x, row 2: value " + ("-inf" if value.startswith("-") else "inf") + " is not a finite number"
    )


def test_non_finite_values_in_a_dataframe_are_refused():
    spec = dagmed.parse("treatment t\noutcome y\nx -> t -> y ~ bernoulli\nx -> y\n")
    df = pd.DataFrame({"x": [0.1, np.inf], "t": [0, 1], "y": [1, 0]})
    with pytest.raises(DataError, match="column x, row 2: value inf is not a finite number"):
        data.load(model_ir(spec), df)


def test_duplicate_column_names_are_refused(tmp_path):
    with pytest.raises(DataError, match="column m appears 2 times in the header"):
        load("x,t,m,y,m\nMale,1,0,1,1\nFemale,0,1,0,0\n", tmp_path)
    df = pd.DataFrame([["Male", 0, 1, 0, 1]], columns=["x", "t", "m", "y", "m"])
    with pytest.raises(DataError, match="column m appears 2 times"):
        data.load(model_ir(SPEC), df)


def test_an_unused_repeated_column_is_harmless(tmp_path):
    d = load("x,t,m,y,note,note\nMale,1,0,1,a,b\nFemale,0,1,0,c,d\n", tmp_path)
    assert d.n_obs == 2


# ---- missing model (MATH.md section 3c) ------------------------------------------------------

MODELLED = SPEC + "x ~ bernoulli\nmissing model\n"  # x (coded text) has a family: its missing values can be modelled


def test_missing_model_keeps_every_row_and_marks_each_missing_value(tmp_path):
    d = load("x,t,m,y\nMale,1,0,1\n,0,1,0\nFemale,1,,1\nMale,0,1,\nFemale,1,1,0\n", tmp_path, MODELLED)
    assert (d.n_obs, d.n_dropped, d.n_rows, d.policy) == (5, 0, 5, "model")
    assert d["x"][:3].tolist()[0] == 1.0 and np.isnan(d["x"][1]) and d["x"][2] == 0.0  # coded, missing kept
    assert d.n_missing == {"x": 1, "t": 0, "m": 1, "y": 1}
    assert d.method == {"x": "summed out", "m": "summed out", "y": "summed out"}
    assert d.complete.tolist() == [True, False, False, False, True]
    assert d.complete_cases().n_obs == 2 and d.complete_cases()["t"].tolist() == [1.0, 1.0]
    assert d.summary() == (
        "5 rows used, 3 of them incomplete; 3 missing values modelled: binary (m 1, x 1, y 1) "
        "summed out per row: 6 likelihood terms for 3 incomplete rows"
    )


def test_missing_model_without_missing_values_is_the_complete_data(tmp_path):
    csv = "x,t,m,y\nMale,1,0,1\nFemale,0,1,0\n"
    a, b = load(csv, tmp_path, MODELLED), load(csv, tmp_path, SPEC + "x ~ bernoulli\n")
    assert not a.missing and a.summary() == b.summary() == "2 rows, none missing"
    assert all(np.array_equal(a[c], b[c]) for c in b.columns) and (a.n_obs, a.n_dropped) == (b.n_obs, b.n_dropped)


def test_a_treatment_with_missing_values_needs_a_model_too(tmp_path):
    with pytest.raises(dagmed.SpecError, match=r"t \(1 missing\) has no family; add 't ~ bernoulli'"):
        load("x,t,m,y\nMale,1,0,1\nFemale,,1,0\nMale,0,1,0\n", tmp_path, MODELLED)


def test_a_node_with_missing_values_needs_a_model(substance_csv):
    text = (SPECS / "substance.dag").read_text().replace("missing drop", "missing model")
    with pytest.raises(dagmed.SpecError) as info:
        data.load(model_ir(text), substance_csv)
    assert info.value.message == (
        "with 'missing model' a node with missing values needs a model: gender (10 missing), conflict "
        "(13 missing) have no family; add 'gender ~ bernoulli' and 'conflict ~ normal'"
    )


@pytest.mark.parametrize(
    "csv, spec, fragment",
    [
        ("x,t,m,y\nMale,1,0,1\nFemale,0,2,\n", MODELLED, "column m, row 2: value 2 is not 0 or 1 (bernoulli)"),
        (
            "x,t,m,y\nMale,1,0,1\nFemale,1,1,\nMale,,1,0\n",
            MODELLED + "t ~ bernoulli\n",
            "the treatment t is constant (1) in its 2 observed values",
        ),
        (
            "x,t,n,y\n0.5,1,3,1.5\n0.1,0,,0.2\n",
            "treatment t\noutcome y\nx -> t -> n -> y\nt -> y\nt ~ bernoulli\nn ~ poisson\ny ~ normal\nmissing model\n",
            "column n, row 2: 1 missing values of a poisson node cannot be modelled",
        ),
    ],
)
def test_missing_model_refusals(tmp_path, csv, spec, fragment):
    with pytest.raises(DataError) as info:
        load(csv, tmp_path, spec)
    assert fragment in info.value.message


def test_missing_model_refuses_a_row_with_too_many_binary_values(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_SUMMED", 2)  # 2^3 terms would be too many
    with pytest.raises(DataError, match=r"row 2: 3 missing binary values; summing them out needs 2\^3 terms"):
        load("x,t,m,y\nMale,1,0,1\n,0,,\nFemale,0,1,0\n", tmp_path, MODELLED)


# ---- what a newcomer's file looks like: missing-value codes, blanks, delimiters, spellings ----

PLAIN = "treatment t\noutcome y\nt -> m -> y ~ bernoulli\nm ~ bernoulli\nt -> y\n"


def test_na_codes_are_missing_after_trimming_whitespace(tmp_path):
    d = load("t,m,y\n1,0,1\n0, . ,0\n1,-99,1\n0,1,0\n1,1,.\n", tmp_path, PLAIN + 'na ".", "-99"\n')
    assert (d.n_obs, d.n_dropped) == (2, 3)
    assert d.row_number(0) == 1 and d.row_number(1) == 4


def test_without_na_a_code_is_text_and_the_error_says_how_to_declare_it(tmp_path):
    with pytest.raises(DataError) as info:
        load("t,m,y\n1,0,1\n0,.,0\n1,1,1\n", tmp_path, PLAIN)
    assert info.value.message.endswith("column m, row 2: text value '.' in a numeric column; if it marks a "
                                       "missing value, say so in the spec: 'na \".\"'")  # fmt: skip


def test_whitespace_only_cells_are_missing_by_default(tmp_path):
    d = load("t,m,y\n1,0,1\n0,   ,0\n1,1,\t\n0,1,0\n", tmp_path, PLAIN)
    assert (d.n_obs, d.n_dropped) == (2, 2)


def test_na_codes_are_modelled_like_blanks_under_missing_model(tmp_path):
    spec = PLAIN + "t ~ bernoulli\nmissing model\n" + 'na "?"\n'
    d = load("t,m,y\n1,0,1\n0,?,0\n1,1,1\n0,1,0\n", tmp_path, spec)
    assert d.n_obs == 4 and d.n_missing["m"] == 1 and d.missing["m"].tolist() == [False, True, False, False]


def test_na_codes_apply_to_text_columns_of_a_dataframe():
    df = pd.DataFrame({"t": ["1", "0", " n/k ", "0"], "m": [0, 1, 1, 0], "y": [1, 0, 1, 0]})
    d = data.load(model_ir(PLAIN + 'na "n/k"\n'), df)
    assert (d.n_obs, d.n_dropped) == (3, 1)


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_the_delimiter_is_sniffed(tmp_path, sep):
    rows = [["t", "m", "y"], ["1", "0", "1"], ["0", "1", "0"], ["1", "1", "1"]]
    d = load("".join(sep.join(r) + "\n" for r in rows), tmp_path, PLAIN)
    assert d.n_obs == 3 and d["m"].tolist() == [0.0, 1.0, 1.0]


def test_a_semicolon_file_with_decimal_commas_is_read_by_its_semicolons(tmp_path):
    spec = "treatment t\noutcome y\nt -> y ~ normal\n"
    with pytest.raises(DataError, match=r"column y, row 1: text value '0,5' in a numeric column; a decimal comma\?"):
        load("t;y\n1;0,5\n0;1,25\n", tmp_path, spec)


def test_a_file_whose_header_is_one_field_names_the_delimiter(tmp_path):
    with pytest.raises(DataError) as info:
        load("t;m;y\n1;0;1\n0;1\n", tmp_path, PLAIN)
    message = info.value.message
    assert "the header is one field, 't;m;y', holding a semicolon" in message
    assert "semicolon-separated" in message and "row 2 splits into 2 fields" in message


def test_a_column_name_with_a_space(tmp_path):
    spec = "treatment `got treatment`\noutcome y\n`got treatment` -> y ~ bernoulli\n"
    d = load("got treatment,y\n1,0\n0,1\n1,1\n", tmp_path, spec)
    assert d["got treatment"].tolist() == [1.0, 0.0, 1.0]


def test_a_code_error_quotes_the_cell_exactly(tmp_path):
    spec = SPEC.replace("code x: Male = 1", "code x: Male = 1, Female = 0")
    with pytest.raises(DataError) as info:
        load("x,t,m,y\nMale,1,0,1\nFemale,0,1,0\n  Fem ale ,1,1,1\n", tmp_path, spec)
    assert "column x, row 3: value '  Fem ale ' is not a level of 'code x' (Male, Female)" in info.value.message


def test_coded_cells_are_matched_after_trimming(tmp_path):
    d = load("x,t,m,y\n Male ,1,0,1\nFemale  ,0,1,0\n", tmp_path)
    assert d["x"].tolist() == [1.0, 0.0]


def test_levels_that_differ_only_by_case_are_named_with_both_spellings(tmp_path):
    with pytest.raises(DataError) as info:
        load("x,t,m,y\nMale,1,0,1\nFemale,0,1,0\nmale,1,1,1\n", tmp_path)
    message = info.value.message
    assert "column x, row 3: value 'male' is not a level of 'code x' (Male)" in message
    assert "'male' and 'Male' differ only by case" in message
    assert "list both spellings, e.g. 'code x: Male = 1, Female = 0, male = 1'" in message


def test_case_twins_among_the_unlisted_levels_are_named_too(tmp_path):
    with pytest.raises(DataError) as info:
        load("x,t,m,y\nMale,1,0,1\nFemale,0,1,0\nfemale,1,1,1\n", tmp_path)
    message = info.value.message
    assert "row 2: value 'Female'" in message and "'Female' and 'female' differ only by case" in message
    assert "e.g. 'code x: Male = 1, Female = 0, female = 0'" in message


# ---- nodes with levels (ordinal, categorical) ------------------------------------------------

LEVELS_SPEC = "treatment t\noutcome y\nt -> m ~ {family}\nt, m -> y ~ bernoulli\n"


@pytest.mark.parametrize("family", ["ordinal(3)", "categorical(3)"])
def test_a_level_outside_the_stated_ones_names_column_row_and_value(family):
    spec = dagmed.parse(LEVELS_SPEC.format(family=family))
    df = pd.DataFrame({"t": [0, 1, 1], "m": [0, 2, 3], "y": [0, 1, 1]})
    with pytest.raises(DataError, match=r"column m, row 3: value 3 is not one of the levels 0\.\.2"):
        dagmed.load_data(spec, df)
    df["m"] = [0, 1.5, 2]
    with pytest.raises(DataError, match=r"column m, row 2: value 1.5 is not one of the levels 0\.\.2"):
        dagmed.load_data(spec, df)


def test_text_levels_of_an_ordinal_node_follow_its_code_statement():
    spec = dagmed.parse(LEVELS_SPEC.format(family="ordinal") + "code m: low = 0, mid = 1, high = 2\n")
    df = pd.DataFrame({"t": [0, 1, 1, 0], "m": ["low", "high", "mid", "mid"], "y": [0, 1, 1, 0]})
    assert dagmed.load_data(spec, df)["m"].tolist() == [0.0, 2.0, 1.0, 1.0]
    assert ModelIR.from_analysis(dagmed.check(spec)).node("y").term_names == ("t", "m[1]", "m[2]")
