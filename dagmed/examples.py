"""Example data that is generated rather than shipped.

``python -m dagmed.examples linear linear.csv`` writes Example 1's data (EXAMPLES.md):
N = 75, seed 42, ``x ~ N(0, 1)``, ``m = 2 + 0.5 x + N(0, 0.5)``,
``y = 0.3 x + 0.6 m + N(0, 0.5)``; true direct 0.3, indirect 0.3, total 0.6.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

LINEAR_TRUTH = {"a": 0.5, "b": 0.6, "c": 0.3, "DE": 0.3, "IIE[m]": 0.3, "TE": 0.6}


def linear_data(n: int = 75, seed: int = 42) -> pd.DataFrame:
    """Example 1's data.

    Drawn with NumPy's legacy seeded generator (``RandomState(42)``, as ``np.random.seed(42)``
    in the reference notebooks): its sample estimates sit close to the truth (a = 0.46,
    b = 0.57, c' = 0.32 by least squares). ``default_rng(42)`` happens to draw a sample
    whose own least-squares a*b is 0.49, so no estimator recovers 0.3 from it.
    """
    rng = np.random.RandomState(seed)
    x = rng.normal(0.0, 1.0, n)
    m = 2.0 + 0.5 * x + rng.normal(0.0, 0.5, n)
    y = 0.0 + 0.3 * x + 0.6 * m + rng.normal(0.0, 0.5, n)
    return pd.DataFrame({"x": x, "m": m, "y": y})


EXAMPLES = {"linear": linear_data}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in EXAMPLES:
        print(f"usage: python -m dagmed.examples {{{','.join(EXAMPLES)}}} OUT.csv", file=sys.stderr)
        return 2
    EXAMPLES[argv[0]]().to_csv(argv[1], index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
