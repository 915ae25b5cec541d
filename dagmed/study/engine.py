r"""Where a study's fits run: Dask distributed, a local cluster by default or an existing one.

:func:`cluster` yields a ``distributed.Client``: to a new local cluster of single-threaded
worker processes (one per core unless told), or to the scheduler at a given address (a
cluster started with ``dask scheduler`` / ``dask worker``, dask-jobqueue, Kubernetes ...).
:func:`run_all` submits one task per fit and hands each result to the caller as it
finishes, in the driver process, which alone writes the results. Ctrl-C cancels what is
left and closes the local cluster; the caller keeps what finished.

Examples
--------
>>> default_workers() >= 1
True
"""

from __future__ import annotations

import logging
import os
import signal
from contextlib import contextmanager

from ..errors import UsageError

QUIET = logging.ERROR  # the workers' and the scheduler's log level: their INFO lines are noise to a user


def default_workers() -> int:
    """One worker per core this process may use.

    Examples
    --------
    >>> default_workers() == len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else True
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@contextmanager
def _quiet_logs():
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "bokeh", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def check_options(workers: int | None = None, scheduler=None) -> None:
    """Refuse engine options that cannot work, before anything is simulated or written.

    Examples
    --------
    >>> check_options(workers=2)
    >>> check_options(workers=2, scheduler="tcp://127.0.0.1:8786")
    Traceback (most recent call last):
    dagmed.errors.UsageError: --workers and --scheduler exclude each other: the scheduler's cluster has its own workers
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"--workers must be an integer >= 1, got {workers!r}")
    if workers is not None and scheduler is not None:
        raise UsageError("--workers and --scheduler exclude each other: the scheduler's cluster has its own workers")


@contextmanager
def cluster(workers: int | None = None, scheduler=None):
    """A Dask client: to ``scheduler`` when given, else to a new local cluster, closed on leaving.

    Parameters
    ----------
    workers : int, optional
        Local worker processes, one thread each (default: one per core). Not with ``scheduler``.
    scheduler : str or distributed.Client, optional
        The address of a running scheduler, ``tcp://host:port``, or a client already connected
        to one (yielded as it is, and left open).

    Raises
    ------
    UsageError
        ``workers`` < 1, both given, or the scheduler cannot be reached (named).

    Examples
    --------
    >>> with cluster(workers=0):
    ...     pass
    Traceback (most recent call last):
    dagmed.errors.UsageError: --workers must be an integer >= 1, got 0
    """
    check_options(workers, scheduler)
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    with _quiet_logs():
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(f"--scheduler {scheduler}: cannot connect ({str(exc).splitlines()[0]})") from None
            try:
                yield client
            finally:
                client.close()
            return
        with _sigint_ignored():  # the workers inherit it: Ctrl-C reaches the driver alone, which stops them
            local = _local_cluster(LocalCluster, workers)
        client = Client(local)
        try:
            yield client
        finally:
            try:
                client.close()
                local.close()
            except Exception:  # noqa: BLE001 - closing after Ctrl-C: what is finished is on disk already
                pass


def _local_cluster(LocalCluster, workers):
    return LocalCluster(
        n_workers=workers or default_workers(),
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=QUIET,
        # one thread per worker: numba's and BLAS's threads too (nutpie runs the chains in turn)
        env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )


@contextmanager
def _sigint_ignored():
    """SIGINT ignored while the local workers start (in the main thread; elsewhere nothing changes).

    A process started with SIGINT ignored keeps ignoring it (Python installs its
    KeyboardInterrupt handler only where SIGINT has its default action): a terminal's Ctrl-C,
    sent to the whole process group, then stops the driver, which closes the workers, instead
    of every worker printing a traceback.
    """
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def warm(client, module: str) -> None:
    """Have every worker import ``module`` now, without waiting for it.

    A worker imports the module of the function it runs when its first task arrives; for a
    study's fits that is PyMC and the rest of the fit stage, about 2 s. Started as soon as the
    cluster is up, the import runs while this process does its own (and checks the study),
    instead of after it.
    """
    client.run(_import, module, wait=False)


async def _import(module: str) -> None:
    """Import ``module`` in a thread of the worker (its event loop goes on): :func:`warm`'s coroutine."""
    import asyncio
    import importlib

    await asyncio.to_thread(importlib.import_module, module)


def where(client) -> str:
    """`` at ADDRESS`` for a cluster this process did not start, else nothing: for the log."""
    return "" if client is None or getattr(client, "cluster", None) is not None else f" at {client.scheduler.address}"


def n_workers(client) -> int:
    """How many workers the client's cluster has now."""
    return len(client.scheduler_info(n_workers=-1).get("workers", {})) if client is not None else 0


def run_all(client, function, tasks, on_result) -> int:
    """Submit ``function(*task)`` for every task; ``on_result(task, result)`` as each finishes, in this process.

    Tasks listed first run first (Dask priorities). A task whose worker failed (killed,
    out of memory) is not reported; the count of such tasks is returned, so that a rerun
    can do them.

    Returns
    -------
    int
        Tasks that did not finish.
    """
    from distributed import as_completed

    futures = {}
    for i, task in enumerate(tasks):
        fut = client.submit(function, *task, pure=False, priority=-i, key=f"dagmed-fit-{i}-{os.getpid()}-{id(tasks)}")
        futures[fut] = task
    lost = 0
    try:
        for fut in as_completed(list(futures)):
            task = futures.pop(fut)
            try:
                result = fut.result()
            except Exception:  # noqa: BLE001 - the worker died or the task was lost: left for a rerun
                lost += 1
                continue
            on_result(task, result)
    finally:
        if futures:
            client.cancel(list(futures))
    return lost
