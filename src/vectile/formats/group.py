"""``--group-by``: sort the paths into groups without changing the picture.

``color`` puts each colour in one group (id ``color-rrggbb``, label ``#rrggbb``), ``layer``
puts fills and strokes apart (ids ``fills`` and ``strokes``).  Groups are painted one after
the other, so gathering paths into groups reorders painting.  That is harmless between paths
whose areas do not meet; between paths that overlap (stacked layers: a small region painted
over a larger one) it would change the picture.  So a path joins the last group of its key
only when it overlaps (by bounding box, padded by a pixel for anti-aliasing and by half the
width of a stroke) no path of a group after that one; otherwise it opens another group of the
same key (``color-rrggbb-2``, label ``#rrggbb (2)``).  Cutout fills never overlap and strokes
follow all fills, so a cutout trace gets exactly one group per colour; a stacked one gets one
per colour where the paint order allows it.

Paths are compared against at most :data:`MAX_CHECK` later paths; past that a new group
starts (still the same picture, only more groups on very big documents).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from vectile.errors import OptionError
from vectile.formats.reader import Path

__all__ = ["GROUP_BY", "Group", "assign_groups", "check_group_by", "sections"]

GROUP_BY = ("none", "color", "layer")
#: The most earlier-painted paths a path's bounding box is checked against to join a group.
MAX_CHECK = 200_000


@dataclass(frozen=True)
class Group:
    """One group of paths: its id (an XML name) and a label people read."""

    id: str
    label: str


def check_group_by(group_by: str | None) -> str:
    """``group_by`` checked (None: ``none``); a bad value raises :class:`OptionError`."""
    value = "none" if group_by is None else group_by
    if value not in GROUP_BY:
        raise OptionError(f"group_by must be one of {', '.join(GROUP_BY)}, got {group_by!r}", option="group_by")
    return value


def _key(path: Path, group_by: str) -> str:
    if group_by == "layer":
        return "strokes" if path.is_stroke else "fills"
    return "{:02x}{:02x}{:02x}".format(*path.color)


def _name(key: str, group_by: str, n: int) -> Group:
    if group_by == "layer":
        base, label = key, key
    else:
        base, label = f"color-{key}", f"#{key}"
    return Group(base if n == 1 else f"{base}-{n}", label if n == 1 else f"{label} ({n})")


def _bbox(path: Path) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for _closed, segs in path.subpaths():
        for seg in segs:
            for p in seg[1:]:
                xs.append(p[0])
                ys.append(p[1])
    if not xs:
        return (0.0, 0.0, -1.0, -1.0)
    pad = 1.0 + (path.width or 0.0) / 2
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


class _Boxes:
    """Bounding boxes and group numbers of the paths so far, in paint order (grown by doubling)."""

    def __init__(self) -> None:
        self.box = np.zeros((1024, 4))
        self.group = np.zeros(1024, np.int64)
        self.n = 0

    def add(self, box: tuple[float, float, float, float], group: int) -> None:
        if self.n == len(self.group):
            self.box = np.concatenate([self.box, np.zeros_like(self.box)])
            self.group = np.concatenate([self.group, np.zeros_like(self.group)])
        self.box[self.n] = box
        self.group[self.n] = group
        self.n += 1

    def overlaps_after(self, box: tuple[float, float, float, float], group: int, since: int) -> bool:
        """Whether ``box`` meets a box of a group after ``group`` among the paths from ``since``."""
        b = self.box[since : self.n]
        later = self.group[since : self.n] > group
        meet = (b[:, 0] < box[2]) & (box[0] < b[:, 2]) & (b[:, 1] < box[3]) & (box[1] < b[:, 3])
        return bool((later & meet).any())


def assign_groups(paths: Iterable[Path], group_by: str) -> tuple[list[int], list[Group]]:
    """The group number of each path (in document order) and the groups, in paint order."""
    groups: list[Group] = []
    created: list[int] = []  # path count when each group was opened
    last: dict[str, int] = {}  # key -> its last group
    count: dict[str, int] = {}
    boxes = _Boxes()
    assigned: list[int] = []
    for path in paths:
        key = _key(path, group_by)
        box = _bbox(path)
        g = last.get(key)
        if g is not None and g + 1 < len(groups):
            since = created[g + 1]
            if boxes.n - since > MAX_CHECK or boxes.overlaps_after(box, g, since):
                g = None
        if g is None:
            count[key] = count.get(key, 0) + 1
            groups.append(_name(key, group_by, count[key]))
            created.append(boxes.n)
            g = last[key] = len(groups) - 1
        boxes.add(box, g)
        assigned.append(g)
    return assigned, groups


def sections(paths: Iterable[Path]) -> Iterator[tuple[Group | None, Iterator[Path]]]:
    """Consecutive paths of one group (as the SVG already has them), as ``(group, paths)``;
    lazily, so each run must be read before the next is asked for."""
    for key, run in itertools.groupby(paths, key=lambda p: p.group):
        yield (Group(*key) if key else None), run
