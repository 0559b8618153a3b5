"""vectile.cluster: recipes for running batches on clusters (see README.md in this folder).

* ``jobqueue.py``: SLURM and PBS through dask-jobqueue (``python -m vectile.cluster.jobqueue``,
  the module form of ``vectile batch --cluster``) and ``jobqueue.yaml``, example site defaults;
* ``slurm-scheduler-file.sbatch``: one SLURM allocation running scheduler, workers and batch;
* ``local-slurm.sh``: a real one-node SLURM on this machine (``up``, ``down``, ``status``);
* ``kubernetes.yaml``: a DaskJob for the dask-kubernetes operator;
* ``Dockerfile``: the worker image, installing the vectile wheel.

The files ship inside the package: ``recipe("kubernetes.yaml")`` is the path of one.

>>> recipe("kubernetes.yaml").name
'kubernetes.yaml'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RECIPES", "recipe"]

RECIPES = (
    "Dockerfile",
    "jobqueue.yaml",
    "kubernetes.yaml",
    "slurm-scheduler-file.sbatch",
    "local-slurm.sh",
    "README.md",
)


def recipe(name: str) -> Path:
    """The installed path of a recipe file (one of :data:`RECIPES`)."""
    if name not in RECIPES:
        raise ValueError(f"no recipe {name!r}; there are {', '.join(RECIPES)}")
    return Path(__file__).with_name(name)
