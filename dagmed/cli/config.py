"""``dagmed run``'s options from a ``--config`` YAML file and the flags given (flags win)."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..files import read_mapping

# Options a --config YAML file may hold, with their types.
CONFIG_KEYS = {
    "data": str,
    "draws": int,
    "tune": int,
    "chains": int,
    "cores": int,
    "seed": int,
    "target_accept": float,
    "sampler": str,
    "convention": str,
    "scale": str,
    "clusters": str,
    "hdi_prob": float,
    "out": str,
    "quiet": bool,
    "no_plots": bool,
    "strict": bool,
    "sensitivity": str,
}


def read_config(path) -> dict:
    """Run options from a YAML mapping, checked (``yaml.safe_load``: never executes anything).

    Parameters
    ----------
    path : str or path
        The ``--config`` file. A relative ``data`` in it is relative to the file.

    Returns
    -------
    dict
        Option name (a key of :data:`CONFIG_KEYS`) to value.

    Raises
    ------
    UsageError
        The file cannot be read, is not a YAML mapping, or holds an unknown option or a
        value of the wrong type (the option is named).

    Examples
    --------
    >>> import tempfile
    >>> conf = Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = conf.write_text("draws: 500\\nseed: 42\\n")
    >>> read_config(conf)
    {'draws': 500, 'seed': 42}
    >>> _ = conf.write_text("drawz: 500\\n")
    >>> read_config(conf)
    Traceback (most recent call last):
    dagmed.errors.UsageError: config .../c.yaml: unknown option 'drawz'; valid options are data, draws, ...
    """
    conf = read_mapping(path, "config", "option: value")
    for key, value in conf.items():
        if key not in CONFIG_KEYS:
            raise UsageError(f"config {path}: unknown option {key!r}; valid options are {', '.join(CONFIG_KEYS)}")
        want = CONFIG_KEYS[key]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise UsageError(f"config {path}: {key} must be {want.__name__}, got {value!r}")
    if "data" in conf and not Path(conf["data"]).is_absolute() and "://" not in conf["data"]:
        conf["data"] = str(Path(path).parent / conf["data"])
    return conf


def options(args) -> dict:
    """Run options: the ``--config`` file's, then every flag given on the command line.

    A flag that was not given is None (never a falsy default), so ``--draws 0`` reaches the
    validation and is refused rather than silently replaced by the default.

    Examples
    --------
    >>> from dagmed.cli import make_parser
    >>> options(make_parser().parse_args(["run", "s.dag", "--draws", "0", "--quiet"]))
    {'draws': 0, 'quiet': True}
    """
    conf = read_config(args.config) if args.config else {}
    for key in CONFIG_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            conf[key] = value
    return conf
