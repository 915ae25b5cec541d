"""Data: a CSV (path or URL) or a DataFrame -> coded numeric columns for the model.

Text columns are coded as the spec's ``code`` statements say. Missing values follow the
spec's ``missing`` policy: ``drop`` (the default) keeps the complete cases, ``error``
refuses, ``model`` keeps every row and marks the missing values for the model to treat as
unknowns (MATH.md section 3c; :mod:`dagmed.model.missing`). Every refusal names the column, and
the row and value where there is one. Rows are numbered as in the file's data (row 1 is
the line after the header).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..lang.families import SAMPLED, SUMMED
from ..lang.fmt import quote, quote_level
from ..lang.ir import format_number
from .ir import ModelIR

MAX_SUMMED = 16  # missing binary values of one row: its likelihood sums 2^16 terms at most


@dataclass(frozen=True, eq=False)
class Dataset:
    """The model's data: one float array per observed node.

    With ``missing drop`` (and ``error``) the columns hold the complete cases. With
    ``missing model`` they hold every row, NaN where a value is missing; ``missing`` then
    maps each column with missing values to its mask, and ``method`` says how they are
    modelled: binary ones ``"summed out"`` per row, continuous ones ``"sampled"`` (latent
    variables of the model).
    """

    columns: dict[str, np.ndarray] = field(repr=False)
    ir: ModelIR = field(repr=False)
    source: str
    n_obs: int
    n_dropped: int
    n_rows: int
    missing: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    method: dict[str, str] = field(default_factory=dict)
    policy: str = "drop"
    positions: np.ndarray | None = field(default=None, repr=False)  # each row's position in the file; None: 0..n-1
    # cluster column -> (each row's cluster code 0..G-1, the G labels as written): ``cluster`` statements
    clusters: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def row_number(self, i: int) -> int:
        """The file's row number (1 = the line after the header) of the dataset's row ``i``."""
        return int(i if self.positions is None else self.positions[i]) + 1

    @property
    def n_missing(self) -> dict[str, int]:
        """Missing values modelled per column (every column; 0 when none or dropped)."""
        return {c: int(self.missing[c].sum()) if c in self.missing else 0 for c in self.columns}

    @property
    def complete(self) -> np.ndarray:
        """``(n_obs,)``: True for the rows with no missing value."""
        incomplete = np.zeros(self.n_obs, dtype=bool)
        for mask in self.missing.values():
            incomplete |= mask
        return ~incomplete

    def complete_cases(self) -> Dataset:
        """The rows with no missing value, as ``missing drop`` would have kept them."""
        if not self.missing:
            return self
        keep = self.complete
        return Dataset(
            {c: v[keep] for c, v in self.columns.items()},
            self.ir,
            self.source,
            int(keep.sum()),
            self.n_rows - int(keep.sum()),
            self.n_rows,
            positions=np.flatnonzero(keep) if self.positions is None else self.positions[keep],
            # every cluster kept, even one left without a complete row: the incomplete rows use them too
            clusters={c: (codes[keep], labels) for c, (codes, labels) in self.clusters.items()},
        )

    def cluster_summary(self) -> str:
        """How many clusters each cluster column has, and their sizes: ``school: 40 clusters of 75 rows``."""
        parts = []
        for column, (codes, labels) in self.clusters.items():
            sizes = np.bincount(codes, minlength=len(labels))
            size = f"{sizes.min()}" if sizes.min() == sizes.max() else f"{sizes.min()} to {sizes.max()}"
            parts.append(f"{column}: {len(labels)} clusters of {size} rows")
        return "; ".join(parts)

    def n_terms(self) -> int:
        """Terms of the likelihood of the incomplete rows: ``sum_i 2^(b_i)``, ``b_i`` the row's
        missing binary values (a complete row, or one with only continuous ones missing, is 1)."""
        b = np.zeros(self.n_obs, dtype=np.int64)
        for c, mask in self.missing.items():
            if self.method.get(c) == SUMMED:
                b += mask
        return int((2 ** b[~self.complete]).sum())

    def summary(self) -> str:
        if self.n_dropped:
            return f"dropped {self.n_dropped} of {self.n_rows} rows with a missing value; {self.n_obs} used"
        if self.missing:
            return f"{self.n_obs} rows used, {int((~self.complete).sum())} of them incomplete; {self.method_summary()}"
        return f"{self.n_obs} rows, none missing"

    def missing_document(self) -> dict:
        """The ``missing`` entry of ``effects.json``: the policy, and with ``missing model`` how
        many rows were incomplete, each column's method, the likelihood terms and one sentence."""
        doc = {"policy": self.policy}
        if self.missing:
            doc.update(
                incomplete_rows=int((~self.complete).sum()),
                method=dict(self.method),
                likelihood_terms=self.n_terms(),
                summary=self.method_summary(),
            )
        return doc

    def method_summary(self) -> str:
        """What was done with the missing values, for the terminal and the report."""
        counts = sorted(((n, c) for c, n in self.n_missing.items() if n), key=lambda nc: (-nc[0], nc[1]))
        total = sum(n for n, _ in counts)
        parts = []
        summed = [f"{c} {n}" for n, c in counts if self.method[c] == SUMMED]
        sampled = [f"{c} {n}" for n, c in counts if self.method[c] == SAMPLED]
        if summed:
            parts.append(
                f"binary ({', '.join(summed)}) summed out per row: {self.n_terms()} likelihood terms "
                f"for {int((~self.complete).sum())} incomplete rows"
            )
        if sampled:
            parts.append(f"continuous ({', '.join(sampled)}) sampled by NUTS as latent variables")
        return f"{total} missing values modelled: " + "; ".join(parts)


def recode(codes: np.ndarray, labels: tuple) -> tuple[np.ndarray, tuple]:
    """Cluster codes renumbered ``0..G'-1`` over the clusters that still have a row, with their labels.

    Examples
    --------
    >>> codes, labels = recode(np.array([2, 0, 2]), ("a", "b", "c"))
    >>> codes.tolist(), labels
    ([1, 0, 1], ('a', 'c'))
    """
    present, new = np.unique(codes, return_inverse=True)
    return new.astype(np.int64), tuple(labels[i] for i in present)


def _cluster_labels(col: pd.Series, column: str, source: str) -> tuple[np.ndarray, tuple]:
    """A cluster column -> each row's code and the labels (numbers in numeric order, else text in sorted order).

    Raises
    ------
    DataError
        A cell is missing: a row's cluster is never modelled, so it cannot be left unknown.
    """
    text = _trimmed(col.map(lambda v: v if pd.isna(v) or isinstance(v, str) else _level_text(v)))
    empty = text.isna() | text.isin(NA_TEXT)
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0]) + 1
        raise DataError(
            f"{source}: column {column}, row {row}: missing cluster label ({int(empty.sum())} rows have none); every "
            f"row needs its cluster: fill them in or remove those rows"
        )
    values = text.astype(str)
    numbers = pd.to_numeric(values, errors="coerce")
    distinct = values.unique()
    if numbers.notna().all():
        order = sorted(distinct, key=lambda v: float(v))
    else:
        order = sorted(distinct)
    index = {label: i for i, label in enumerate(order)}
    return values.map(index).to_numpy(dtype=np.int64), tuple(order)


def _clusters(ir: ModelIR, df: pd.DataFrame, keep: np.ndarray, source: str) -> dict:
    """Every cluster column's codes over the rows kept; refused when absent, incomplete or of one level."""
    out = {}
    for column in ir.cluster_columns:
        if column not in df.columns:
            raise DataError(
                f"{source}: cluster column {column} not found (the spec says 'cluster {quote(column)}'); "
                f"available columns: {', '.join(map(str, df.columns))}"
            )
        codes, labels = _cluster_labels(df[column], column, source)
        codes, labels = recode(codes[keep], labels)
        if len(labels) < 2:
            raise DataError(
                f"{source}: cluster column {column} has a single level ({labels[0]!r}) in the {len(codes)} rows used: "
                f"random intercepts need at least two clusters (remove the cluster statement)"
            )
        out[column] = (codes, labels)
    return out


def _source(ir: ModelIR, data) -> tuple[object, str]:
    spec = ir.spec
    if data is None:
        if spec.data is None:
            raise DataError(f"no data: the spec {spec.source} has no 'data' statement and none was given (--data)")
        data = spec.data
        if "://" not in data and spec.source not in ("<string>", None):
            data = os.path.normpath(str(Path(spec.source).parent / data))
    if isinstance(data, pd.DataFrame):
        return data, "<DataFrame>"
    return data, str(data)


# Cells read as missing whatever the spec says (pandas' usual spellings), after trimming
# whitespace; a blank or whitespace-only cell is missing too. ``na`` statements add codes.
NA_TEXT = ("", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A", "<NA>", "None")
# The delimiters a CSV file may use, in the order they are tried.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def _fields(lines: list[str], sep: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=sep)]


def sniff_delimiter(text: str, name: str = "<data>") -> str:
    """The delimiter of CSV text: the first of comma, semicolon and tab that splits every line alike.

    The header and up to 50 rows are read; a delimiter is taken when it splits the header into
    more than one field and every row into as many.

    Parameters
    ----------
    text : str
        The file's beginning (a header line at least).
    name : str
        The file's name, for the error message.

    Returns
    -------
    str
        ``","``, ``";"`` or ``"\\t"``; ``","`` when no line splits (a one-column file).

    Raises
    ------
    DataError
        The header is one field holding a semicolon or a tab, yet its rows do not split alike:
        the message names the delimiter and the first row that does not.

    Examples
    --------
    >>> sniff_delimiter("t;m;y\\n0;1,5;1\\n")
    ';'
    >>> sniff_delimiter("t,m,y\\n0,1,1\\n")
    ','
    >>> sniff_delimiter("t;m;y\\n0;1\\n", "d.csv")
    Traceback (most recent call last):
    dagmed.errors.DataError: d.csv: the header is one field, 't;m;y', holding a semicolon: ...
    """
    lines = [ln for ln in text.splitlines()[:51] if ln.strip()]
    if not lines:
        return ","
    for sep in DELIMITERS:
        counts = _fields(lines, sep)
        if counts[0] > 1 and all(c == counts[0] for c in counts):
            return sep
    header = lines[0]
    for sep, word in DELIMITERS.items():
        if sep != "," and sep in header and _fields([header], ",")[0] == 1:
            counts = _fields(lines, sep)
            row = next(i for i, c in enumerate(counts) if c != counts[0])
            raise DataError(
                f"{name}: the header is one field, {header!r}, holding a {word}: the file looks {word}-separated "
                f"(dagmed reads comma-, semicolon- and tab-separated files and tells them apart by the header "
                f"and the rows), but row {row} splits into {counts[row]} fields at the {word} where the header "
                f"has {counts[0]}: fix that row, or save the file with one delimiter throughout"
            )
    return ","


def _read_text(data, name: str) -> str:
    """The whole file as text (a path or a URL), refused with one line when it cannot be read."""
    try:
        if "://" in name:
            with urllib.request.urlopen(name, timeout=120) as response:  # noqa: S310 - the user's own data URL
                raw = response.read()
        else:
            raw = Path(name).read_bytes()
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {name}: {getattr(exc, 'reason', None) or exc}") from None
    if b"\x00" in raw[:4096]:
        raise DataError(f"{name} is not a CSV text file (it holds binary data)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_csv(data, name: str) -> pd.DataFrame:
    """Every cell as the text written (no type guessed): the spec's codes and trimming apply to it."""
    if "://" not in name:
        path = Path(name)
        if not path.exists():
            raise DataError(f"data file not found: {name}")
        if path.is_dir():
            raise DataError(f"data path is a directory, not a CSV file: {name}")
    text = _read_text(data, name)
    if not text.strip():
        raise DataError(f"{name} is empty: no header and no rows")
    sep = sniff_delimiter(text, name)
    try:
        # pandas renames a repeated header ("x", "x.1"); keep the names as written (header=None)
        # so that a repeated column is refused instead of one copy being used silently
        raw = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty: no header and no rows") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{name} cannot be read as CSV: {str(exc).splitlines()[0]}") from None
    if len(raw) < 2:
        raise DataError(f"{name} has a header but no rows")
    df = raw.iloc[1:].reset_index(drop=True)
    df.columns = [str(c) for c in raw.iloc[0]]
    return df


def _missing_cells(col: pd.Series, codes) -> pd.Series:
    """A text column with every missing cell NaN: blank, a usual spelling of NA, or one of the spec's codes.

    Values are compared after trimming whitespace; the other values are kept as written.
    """
    if not _is_text(col):
        return col
    trimmed = col.map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = trimmed.isin([*NA_TEXT, *codes]) | col.isna()
    return col.mask(missing)


def _refuse_duplicates(df: pd.DataFrame, needed, name: str) -> None:
    """A used column whose name appears twice in the header: which one is meant is unknowable."""
    dup = [c for c in needed if list(df.columns).count(c) > 1]
    if dup:
        raise DataError(
            f"{name}: column {dup[0]} appears {list(df.columns).count(dup[0])} times in the header; "
            f"rename or remove the extra copies"
        )


def _refuse_non_finite(col: pd.Series, name: str, source: str) -> None:
    """Every used value must be a finite number (NaN is a missing value, not infinite)."""
    v = col.to_numpy(dtype=float)
    bad = np.isinf(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: column {name}, row {i + 1}: value {v[i]:g} is not a finite number")


def _is_text(col: pd.Series) -> bool:
    """A column of text (pandas' object or string dtype), as every column read from a file is."""
    return col.dtype == object or pd.api.types.is_string_dtype(col.dtype)


def _trimmed(col: pd.Series) -> pd.Series:
    return col.map(lambda v: v.strip() if isinstance(v, str) else v)


def _case_twins(value: str, others) -> list[str]:
    """The values among ``others`` that differ from ``value`` only by case."""
    return sorted({o for o in others if o != value and o.casefold() == value.casefold()})


def _code(col: pd.Series, name: str, levels, source: str) -> pd.Series:
    """A text column -> 0/1 by the spec's levels; one given level codes the other as its complement.

    Cells are compared with the levels after trimming whitespace; a refusal quotes the cell
    exactly as written and says when it differs from a level (or another value) only by case.
    """
    text = _trimmed(col.map(lambda v: v if pd.isna(v) or isinstance(v, str) else _level_text(v)))
    present = sorted(text.dropna().astype(str).unique())
    mapping = {str(k): float(v) for k, v in levels}
    unknown = [v for v in present if v not in mapping]
    twins = {u: _case_twins(u, [*mapping, *present]) for u in unknown}
    if len(mapping) == 1 and len(unknown) <= 1:
        ((given, value),) = mapping.items()
        mapping.update({u: 1.0 - value for u in unknown})
        unknown = []
    if unknown:
        # the first row with an unknown value; one that differs from another only by case first
        culprits = [u for u in unknown if twins[u]] or unknown
        row = int(np.flatnonzero(text.isin(culprits).to_numpy())[0]) + 1
        bad = text.iloc[row - 1]
        message = (
            f"{source}: column {name}, row {row}: value {_exact(col.iloc[row - 1])} is not a level of "
            f"'code {name}' ({', '.join(mapping)}); levels present: {', '.join(present)}"
        )
        if twins[bad]:
            spellings = ", ".join(f"'{t}'" for t in twins[bad])
            code = _suggest_code(name, mapping, present)
            message += (
                f"; '{bad}' and {spellings} differ only by case, and levels are matched exactly: "
                f"list both spellings, e.g. '{code}'"
            )
        raise DataError(message)
    return text.map(lambda v: mapping.get(str(v), np.nan) if pd.notna(v) else np.nan)


def _suggest_code(name: str, mapping: dict, present) -> str:
    """A ``code`` statement listing every spelling present, each with the value of its case twin."""
    folded = {k.casefold(): v for k, v in mapping.items()}
    given = dict(mapping)
    if len(mapping) == 1:  # the one level given codes the others as its complement
        ((level, value),) = mapping.items()
        folded = {level.casefold(): value}
        for p in present:
            folded.setdefault(p.casefold(), 1.0 - value)
    for p in present:
        if p not in given and p.casefold() in folded:
            given[p] = folded[p.casefold()]
    levels = ", ".join(f"{quote_level(k)} = {v:g}" for k, v in given.items())
    return f"code {quote(name)}: {levels}"


def _exact(value) -> str:
    """A cell as written, quoted so that spaces and case show: ``'male '``."""
    return repr(value) if isinstance(value, str) else repr(str(value))


def _numeric(col: pd.Series, name: str, source: str) -> pd.Series:
    text = _trimmed(col)
    if _is_text(text):
        text = text.map(lambda v: _BOOLEAN.get(v.lower(), v) if isinstance(v, str) else v)
    num = pd.to_numeric(text, errors="coerce")
    bad = num.isna() & text.notna()
    if bad.any():
        levels = sorted(text[bad].astype(str).unique())
        row = int(np.flatnonzero(bad)[0]) + 1
        value = text.iloc[row - 1]
        if isinstance(value, str) and _DECIMAL_COMMA.match(value):
            hint = "; a decimal comma? dagmed reads numbers with a decimal point"
        elif bad[text.notna()].all() and len(text.dropna().unique()) == 2:
            hint = f"; say how to code it, e.g. 'code {quote(name)}: {quote_level(levels[-1])} = 1'"
        else:
            hint = f"; if it marks a missing value, say so in the spec: 'na {json.dumps(value, ensure_ascii=False)}'"
        raise DataError(
            f"{source}: column {name}, row {row}: text value {_exact(col.iloc[row - 1])} in a numeric column{hint}"
        )
    return num.astype(float)


_BOOLEAN = {"true": "1", "false": "0"}
_DECIMAL_COMMA = re.compile(r"-?\d+,\d+\Z")


def _level_text(v) -> str:
    """A number in a coded column as a level would be written (``1``, not ``1.0``)."""
    try:
        return format_number(float(v))
    except (TypeError, ValueError):
        return str(v)


def load(ir: ModelIR, data=None) -> Dataset:
    """Load and code the data for a model.

    Parameters
    ----------
    ir : ModelIR
        Of a checked analysis (:meth:`ModelIR.from_analysis`).
    data : str, path, pandas.DataFrame, optional
        Overrides the spec's ``data`` statement. A relative path in the spec is relative
        to the spec file.

    Raises
    ------
    DataError
        Missing file or column, text that cannot be coded, values outside a family's
        support, a constant treatment, no complete rows (``drop``), a missing value
        (``error``), a missing count or too many missing binary values in one row (``model``).
    SpecError
        ``missing model`` and a node with missing values has no family (each such node is
        named with the line to add).
    """
    data, name = _source(ir, data)
    df = data if isinstance(data, pd.DataFrame) else _read_csv(data, name)
    df = df.reset_index(drop=True)
    needed = list(ir.data_nodes)
    _refuse_duplicates(df, [*needed, *ir.cluster_columns], name)
    missing_cols = [c for c in needed if c not in df.columns]
    if missing_cols:
        raise DataError(
            f"{name}: column(s) {', '.join(missing_cols)} not found; available columns: {', '.join(map(str, df.columns))}"
        )
    spec = ir.spec
    coded = {}
    for c in needed:
        levels = spec.code_for(c)
        col = _missing_cells(df[c], spec.na)
        coded[c] = _code(col, c, levels, name) if levels is not None else _numeric(col, c, name)
        _refuse_non_finite(coded[c], c, name)
    frame = pd.DataFrame(coded)
    has_na = frame.isna().any(axis=1)
    if has_na.any() and spec.missing == "error":
        row = int(np.flatnonzero(has_na)[0])
        col = frame.columns[frame.iloc[row].isna()][0]
        raise DataError(f"{name}: column {col}, row {row + 1}: missing value (the spec says 'missing error')")
    if spec.missing == "model":
        return _modelled(ir, frame, name, _clusters(ir, df, np.ones(len(df), dtype=bool), name))
    kept = frame[~has_na]
    if kept.empty:
        raise DataError(f"{name}: every one of the {len(frame)} rows has a missing value in {', '.join(needed)}")
    for c in needed:
        fam = ir.family(c)
        if fam is not None:
            _check_support(kept[c], c, fam, name, ir)
    t = ir.treatment
    if kept[t].nunique() < 2:
        raise DataError(f"{name}: the treatment {t} is constant ({kept[t].iloc[0]:g}) in the {len(kept)} rows used")
    return Dataset(
        columns={c: kept[c].to_numpy(dtype=float) for c in needed},
        ir=ir,
        source=name,
        n_obs=len(kept),
        n_dropped=int(has_na.sum()),
        n_rows=len(frame),
        positions=np.flatnonzero(~has_na.to_numpy()),
        clusters=_clusters(ir, df, ~has_na.to_numpy(), name),
    )


def _modelled(ir: ModelIR, frame: pd.DataFrame, source: str, clusters: dict) -> Dataset:
    """``missing model``: every row kept, each missing value marked for the model (MATH.md 3c)."""
    missing = {c: frame[c].isna().to_numpy() for c in frame.columns if frame[c].isna().any()}
    unmodelled = [c for c in missing if ir.family(c) is None]
    if unmodelled:
        lines = " and ".join(f"'{c} ~ {_suggest_family(frame[c])}'" for c in unmodelled)
        which = ", ".join(f"{c} ({int(missing[c].sum())} missing)" for c in unmodelled)
        raise SpecError(
            f"with 'missing model' a node with missing values needs a model: {which} "
            f"{'has' if len(unmodelled) == 1 else 'have'} no family; add {lines}",
            **ir.loc_of(unmodelled[0]),
        )
    method = {}
    for c in missing:
        fam = ir.family(c)
        method[c] = fam.support.missing
        if method[c] is None:
            row = int(np.flatnonzero(missing[c])[0]) + 1
            raise DataError(
                f"{source}: column {c}, row {row}: {int(missing[c].sum())} missing values of a {fam.name} node cannot "
                f"be modelled (only binary ones are summed out, and only continuous ones sampled by NUTS); "
                f"use 'missing drop', or model {c} as normal"
            )
    for c in frame.columns:
        fam = ir.family(c)
        if fam is not None:
            _check_support(frame[c].dropna(), c, fam, source, ir)
    summed = sum(missing[c].astype(np.int64) for c in method if method[c] == SUMMED) if method else 0
    if np.max(summed, initial=0) > MAX_SUMMED:
        row = int(np.argmax(summed))
        raise DataError(
            f"{source}: row {row + 1}: {int(summed[row])} missing binary values; summing them out needs "
            f"2^{int(summed[row])} terms (at most 2^{MAX_SUMMED} per row): drop the row or use 'missing drop'"
        )
    t = ir.treatment
    if frame[t].dropna().nunique() < 2:
        seen = frame[t].dropna()
        raise DataError(
            f"{source}: the treatment {t} is constant ({seen.iloc[0]:g}) in its {len(seen)} observed values"
            if len(seen)
            else f"{source}: the treatment {t} is missing in every row"
        )

    return Dataset(
        columns={c: frame[c].to_numpy(dtype=float) for c in frame.columns},
        ir=ir,
        source=source,
        n_obs=len(frame),
        n_dropped=0,
        n_rows=len(frame),
        missing=missing,
        method=method,
        policy="model",
        clusters=clusters,
    )


def refuse_unstated_contrast(dataset) -> None:
    """A treatment other than 0/1 needs a ``contrast`` statement: which two of its values the effects compare.

    Asked before the effects are computed (``dagmed run`` asks before sampling); fitting the
    model alone needs no contrast.

    Raises
    ------
    DataError
        The treatment takes a value other than 0 and 1 and the spec states no contrast
        (column, row and value named, and the line to add).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ normal\\n")
    >>> refuse_unstated_contrast(dagmed.load_data(spec, pd.DataFrame({"t": [0, 1, 2.5], "y": [1.0, 2.0, 2.5]})))
    Traceback (most recent call last):
    dagmed.errors.DataError: <DataFrame>: column t, row 3: value 2.5: the treatment is not 0/1 (it ranges from 0 to 2.5), ...
    """
    ir = dataset.ir
    if ir.spec.contrast is not None:
        return
    t = dataset[ir.treatment]
    bad = np.flatnonzero(np.isfinite(t) & ~np.isin(t, (0.0, 1.0)))
    if len(bad):
        low, high = float(np.nanmin(t)), float(np.nanmax(t))
        raise DataError(
            f"{dataset.source}: column {ir.treatment}, row {dataset.row_number(bad[0])}: value {t[bad[0]]:g}: the "
            f"treatment is not 0/1 (it ranges from {low:g} to {high:g}), so the effects need the two values they "
            f"compare: add a line 'contrast ACTIVE vs REFERENCE' to the spec, e.g. 'contrast {high:g} vs {low:g}'"
        )


def contrast_outside(dataset) -> str | None:
    """A warning when a value of the spec's contrast lies outside the treatment's observed range, else None.

    Effects at such a value extrapolate the treatment's coefficients beyond the data.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ normal\\ncontrast 5 vs 0\\n")
    >>> print(contrast_outside(dagmed.load_data(spec, pd.DataFrame({"t": [0.0, 1.5, 3.0], "y": [1.0, 2.0, 2.5]}))))
    contrast 5 vs 0 of t: 5 lies outside the observed range of t (0 to 3); its effects extrapolate the model
    """
    t = dataset.ir.treatment
    values = dataset[t][np.isfinite(dataset[t])]
    low, high = float(values.min()), float(values.max())
    active, reference = dataset.ir.contrast
    outside = [v for v in (active, reference) if not low <= v <= high]
    if not outside:
        return None
    shown = " and ".join(f"{v:g}" for v in outside)
    verb = "lies" if len(outside) == 1 else "lie"
    return (
        f"contrast {active:g} vs {reference:g} of {t}: {shown} {verb} outside the observed range of {t} "
        f"({low:g} to {high:g}); its effects extrapolate the model"
    )


def _suggest_family(col: pd.Series) -> str:
    """The family to suggest for a column: bernoulli for 0/1 values, normal otherwise."""
    seen = col.dropna().to_numpy()
    return "bernoulli" if np.isin(seen, (0.0, 1.0)).all() else "normal"


def _check_support(col: pd.Series, name: str, fam, source: str, ir: ModelIR) -> None:
    v = col.to_numpy()
    bad = fam.support.bad(v)
    what = fam.support.expected
    if fam.support.levels:
        top = ir.node(name).levels - 1
        bad = bad | (v > top)
        what = f"one of the levels 0..{top} of {fam.name} node {name} (or a level named by 'code {name}: ...')"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = int(col.index[i]) + 1
        raise DataError(f"{source}: column {name}, row {row}: value {v[i]:g} is not {what}")
