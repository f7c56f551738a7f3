"""Selection of the ``num`` first rows in the order (key ascending, row index ascending), mergeable.

Every "flag the num rows with the smallest probability / largest margin / lowest score" rule uses
it, in memory (one offer of all rows) and in batches (one offer per batch, selections merged): the
result is the same however the rows were split, because (key, index) is a total order. (cleanlab's
own argsort is numpy's unstable default, so its order among equal keys is unspecified.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


class Smallest:
    """The ``num`` smallest (key, index) pairs offered so far, in that order, each with a boolean tag
    (a per-row property carried along, such as a veto)."""

    __slots__ = ("indices", "keys", "num", "tags")

    def __init__(self, num: int) -> None:
        self.num = max(int(num), 0)
        self.keys: NDArray[np.float64] = np.empty(0, dtype=np.float64)
        self.indices: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.tags: NDArray[np.bool_] = np.empty(0, dtype=np.bool_)

    def offer(
        self, keys: NDArray[np.float64], indices: NDArray[Any], tags: NDArray[np.bool_] | None = None
    ) -> None:
        """Add candidates (distinct indices, not offered before) and keep the ``num`` first."""
        new_tags = np.zeros(len(indices), dtype=np.bool_) if tags is None else tags
        keys = np.concatenate([self.keys, np.asarray(keys, dtype=np.float64)])
        indices = np.concatenate([self.indices, np.asarray(indices, dtype=np.int64)])
        all_tags = np.concatenate([self.tags, np.asarray(new_tags, dtype=np.bool_)])
        # lexsort sorts by its last key first: keys ascending (NaN last, -0.0 == 0.0), then index.
        keep = np.lexsort((indices, keys))[: self.num]
        self.keys, self.indices, self.tags = keys[keep], indices[keep], all_tags[keep]

    def merge(self, other: Smallest) -> None:
        """Fold the candidates of a selector that saw other rows into this one."""
        self.offer(other.keys, other.indices, other.tags)

    def untagged(self) -> NDArray[np.int64]:
        """Selected indices whose tag is False, in selection order."""
        return self.indices[~self.tags]

    def __getstate__(self) -> tuple[int, NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
        return self.num, self.keys, self.indices, self.tags

    def __setstate__(
        self, state: tuple[int, NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]
    ) -> None:
        self.num, self.keys, self.indices, self.tags = state


def smallest_positions(keys: NDArray[np.float64], num: int) -> NDArray[np.int64]:
    """Positions of the ``num`` smallest keys in ascending order, equal keys to the lower position."""
    selection = Smallest(num)
    selection.offer(keys, np.arange(len(keys)))
    return selection.indices
