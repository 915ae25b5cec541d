"""Data: a CSV (path or URL) or a DataFrame -> coded numeric columns for the model.

Text columns are coded as the spec's ``code`` statements say; rows with a missing value
are dropped (complete cases) unless the spec says ``missing error``. Every refusal names
the column, and the row and value where there is one. Rows are numbered as in the file's
data (row 1 is the line after the header).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .checks import Analysis
from .errors import DataError
from .families import FAMILIES


@dataclass(frozen=True, eq=False)
class Dataset:
    """The model's data: one float array per observed node, complete cases only."""

    columns: dict[str, np.ndarray] = field(repr=False)
    source: str
    n_obs: int
    n_dropped: int
    n_rows: int

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def summary(self) -> str:
        if self.n_dropped:
            return f"dropped {self.n_dropped} of {self.n_rows} rows with a missing value; {self.n_obs} used"
        return f"{self.n_obs} rows, none missing"


def _source(analysis: Analysis, data) -> tuple[object, str]:
    spec = analysis.spec
    if data is None:
        if spec.data is None:
            raise DataError(f"no data: the spec {spec.source} has no 'data' statement and none was given (--data)")
        data = spec.data
        if "://" not in data and spec.source not in ("<string>", None):
            data = os.path.normpath(str(Path(spec.source).parent / data))
    if isinstance(data, pd.DataFrame):
        return data, "<DataFrame>"
    return data, str(data)


def _read_csv(data, name: str) -> pd.DataFrame:
    if "://" not in name:
        path = Path(name)
        if not path.exists():
            raise DataError(f"data file not found: {name}")
        if path.is_dir():
            raise DataError(f"data path is a directory, not a CSV file: {name}")
        head = path.open("rb").read(4096)
        if b"\x00" in head:
            raise DataError(f"{name} is not a CSV text file (it holds binary data)")
    try:
        df = pd.read_csv(data, na_values=["NA", ""], keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty: no header and no rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{name} cannot be read as CSV: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise DataError(f"cannot read {name}: {exc}") from None
    if df.empty:
        raise DataError(f"{name} has a header but no rows")
    # pandas renames a repeated header ("x", "x.1"); keep the names as written so that a
    # repeated column is refused instead of one copy being used silently
    header = pd.read_csv(data, header=None, nrows=1, dtype=str, keep_default_na=False).iloc[0].tolist()
    if len(header) == len(df.columns):
        df.columns = header
    return df


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


def _code(col: pd.Series, name: str, levels, source: str) -> pd.Series:
    """A text column -> 0/1 by the spec's levels; one given level codes the other as its complement."""
    present = sorted(col.dropna().astype(str).unique())
    mapping = {str(k): float(v) for k, v in levels}
    unknown = [v for v in present if v not in mapping]
    if len(mapping) == 1 and len(unknown) <= 1:
        (given, value), = mapping.items()
        mapping.update({u: 1.0 - value for u in unknown})
        unknown = []
    if unknown:
        row = int(np.flatnonzero(col.astype(str).isin(unknown) & col.notna())[0]) + 1
        raise DataError(
            f"{source}: column {name}, row {row}: value {col.iloc[row - 1]!r} is not a level of "
            f"'code {name}' ({', '.join(mapping)}); levels present: {', '.join(present)}"
        )
    return col.map(lambda v: mapping.get(str(v), np.nan) if pd.notna(v) else np.nan)


def _numeric(col: pd.Series, name: str, source: str) -> pd.Series:
    num = pd.to_numeric(col, errors="coerce")
    bad = num.isna() & col.notna()
    if bad.any():
        levels = sorted(col[bad].astype(str).unique())
        row = int(np.flatnonzero(bad)[0]) + 1
        if len(col.dropna().unique()) == 2:
            hint = f"; say how to code it, e.g. 'code {name}: {levels[-1]} = 1'"
        else:
            hint = ""
        raise DataError(f"{source}: column {name}, row {row}: text value {col.iloc[row - 1]!r} in a numeric column{hint}")
    return num.astype(float)


def load(analysis: Analysis, data=None) -> Dataset:
    """Load and code the data for a checked spec.

    Parameters
    ----------
    analysis : Analysis
        From :func:`dagmed.checks.check`.
    data : str, path, pandas.DataFrame, optional
        Overrides the spec's ``data`` statement. A relative path in the spec is relative
        to the spec file.

    Raises
    ------
    DataError
        Missing file or column, text that cannot be coded, values outside a family's
        support, a constant treatment, no complete rows.
    """
    data, name = _source(analysis, data)
    df = data if isinstance(data, pd.DataFrame) else _read_csv(data, name)
    df = df.reset_index(drop=True)
    g = analysis.graph
    needed = [n for n, a in g.nodes(data=True) if a["observed"]]
    _refuse_duplicates(df, needed, name)
    missing_cols = [c for c in needed if c not in df.columns]
    if missing_cols:
        raise DataError(
            f"{name}: column(s) {', '.join(missing_cols)} not found; available columns: {', '.join(map(str, df.columns))}"
        )
    spec = analysis.spec
    coded = {}
    for c in needed:
        levels = spec.code_for(c)
        col = df[c]
        coded[c] = _code(col, c, levels, name) if levels is not None else _numeric(col, c, name)
        _refuse_non_finite(coded[c], c, name)
    frame = pd.DataFrame(coded)
    has_na = frame.isna().any(axis=1)
    if has_na.any() and spec.missing == "error":
        row = int(np.flatnonzero(has_na)[0])
        col = frame.columns[frame.iloc[row].isna()][0]
        raise DataError(f"{name}: column {col}, row {row + 1}: missing value (the spec says 'missing error')")
    kept = frame[~has_na]
    if kept.empty:
        raise DataError(f"{name}: every one of the {len(frame)} rows has a missing value in {', '.join(needed)}")
    for c in needed:
        fam = g.nodes[c]["family"]
        if fam is None:
            continue
        _check_support(kept[c], c, FAMILIES[fam], name)
    t = analysis.treatment
    if kept[t].nunique() < 2:
        raise DataError(f"{name}: the treatment {t} is constant ({kept[t].iloc[0]:g}) in the {len(kept)} rows used")
    return Dataset(
        columns={c: kept[c].to_numpy(dtype=float) for c in needed},
        source=name,
        n_obs=len(kept),
        n_dropped=int(has_na.sum()),
        n_rows=len(frame),
    )


def _check_support(col: pd.Series, name: str, fam, source: str) -> None:
    v = col.to_numpy()
    bad = fam.support.bad(v)
    what = fam.support.expected
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = int(col.index[i]) + 1
        raise DataError(f"{source}: column {name}, row {row}: value {v[i]:g} is not {what}")
