"""vectile.flows: Dask flows over many files.

``batch`` traces whole archives: files, folders, globs, zip/tar archives and list files, one
Dask task per file (small files in groups), outputs written atomically by the workers, a JSONL
manifest written as files finish, ``resume`` after an interruption. A file over
:data:`~vectile.options.HUGE_PIXELS` pixels is traced in tiles inside its task
(:mod:`vectile.flows._route`, :func:`vectile.tiling.trace_image`), the tiles running on the same
cluster. See ``vectile batch --help`` and the README's "Batches" section.

>>> import vectile.flows
>>> report = vectile.flows.batch(["scans/"], "out", colors=8)  # doctest: +SKIP
>>> report.exit_code                                           # doctest: +SKIP
0
"""

from vectile.flows._batch import TRACER_OPTIONS, batch
from vectile.flows._inputs import Job, plan
from vectile.flows._manifest import MANIFEST_NAME, read_manifest
from vectile.flows._report import BatchReport

__all__ = ["MANIFEST_NAME", "TRACER_OPTIONS", "BatchReport", "Job", "batch", "plan", "read_manifest"]
