"""Batches of a PackedDataset: deterministic, endless over epochs, resumable from (epoch, position)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from hephaestus.pack.packer import PackedDataset

IGNORE = -100  # label of a token whose prediction is not trained


def collate(dataset: PackedDataset, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """input_ids, labels and position_ids [len(indices), seq_len] of the sequences at `indices`.

    labels[t] is the token t where the pack's loss mask trains it (the model predicts it from the tokens before),
    and IGNORE where the mask is 0 or where token t starts a document (the context before it is another document).
    """
    tokens, mask, positions = (np.stack(column) for column in zip(*(dataset[i] for i in indices), strict=True))
    input_ids = torch.from_numpy(tokens)
    position_ids = torch.from_numpy(positions)
    trained = torch.from_numpy(mask) & (position_ids != 0)
    return {"input_ids": input_ids, "labels": input_ids.where(trained, IGNORE), "position_ids": position_ids}


class Batches:
    """Endless batches of `batch_size` sequences; epoch e visits the sequences in a permutation seeded by (seed, e),
    or in order with `shuffle=False` (packs are shuffled when written). A batch may span two epochs."""

    def __init__(self, dataset: PackedDataset, batch_size: int, seed: int = 0, shuffle: bool = True) -> None:
        if not len(dataset):
            raise ValueError(f"{dataset.folder}: the pack has no sequences")
        self.dataset, self.batch_size, self.seed, self.shuffle = dataset, batch_size, seed, shuffle
        self.epoch = self.position = 0
        self._order = self._epoch_order()

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        indices = []
        while len(indices) < self.batch_size:
            take = self._order[self.position : self.position + self.batch_size - len(indices)]
            indices.extend(take.tolist())
            self.position += len(take)
            if self.position == len(self._order):
                self.epoch, self.position = self.epoch + 1, 0
                self._order = self._epoch_order()
        return collate(self.dataset, indices)

    def state_dict(self) -> dict[str, int | bool]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed, "shuffle": self.shuffle,
                "sequences": len(self.dataset)}

    def load_state_dict(self, state: dict[str, int | bool]) -> None:
        """Continue exactly where the iterator that produced `state` stopped (same pack, seed and shuffle)."""
        mine = self.state_dict()
        changed = [key for key in ("seed", "shuffle", "sequences") if state[key] != mine[key]]
        if changed:
            raise ValueError(f"cannot resume batches: {', '.join(changed)} changed ({state} vs {mine})")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._epoch_order()

    def _epoch_order(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(len(self.dataset))
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(len(self.dataset), generator=generator)


def sequential_batches(dataset: PackedDataset, batch_size: int, limit: int | None = None) -> Iterator[dict]:
    """The first `limit` (default: all) batches of the pack in order, the last one possibly smaller: for evaluation."""
    stop = len(dataset) if limit is None else min(len(dataset), limit * batch_size)
    for start in range(0, stop, batch_size):
        yield collate(dataset, range(start, min(start + batch_size, stop)))
