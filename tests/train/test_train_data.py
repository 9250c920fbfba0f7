"""Batches over a pack: labels from the loss mask, deterministic epochs, exact resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hephaestus.pack.packer import PackedDataset, PackWriter
from hephaestus.train.data import IGNORE, Batches, collate, sequential_batches


def write_pack(folder: Path, docs: int = 20) -> PackedDataset:
    rng = np.random.default_rng(0)
    writer = PackWriter(folder, seq_len=8, vocab_size=100, eos_id=0)
    for _ in range(docs):
        n = int(rng.integers(1, 10))
        writer.add(rng.integers(1, 100, n), loss_mask=np.arange(n) >= n // 2)
    writer.close()
    return PackedDataset(folder)


def test_labels_follow_the_mask_and_skip_document_starts(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack")
    batch = collate(pack, [0, 1])
    tokens, mask, positions = (np.stack(column) for column in zip(pack[0], pack[1], strict=True))
    assert torch.equal(batch["input_ids"], torch.from_numpy(tokens))
    assert torch.equal(batch["position_ids"], torch.from_numpy(positions))
    trained = mask & (positions != 0)
    assert torch.equal(batch["labels"] != IGNORE, torch.from_numpy(trained))
    assert torch.equal(batch["labels"][torch.from_numpy(trained)], torch.from_numpy(tokens[trained]))


def test_each_epoch_is_a_seeded_permutation_and_resume_is_exact(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack")
    n = len(pack)
    batches = Batches(pack, batch_size=3, seed=5)
    seen = torch.cat([next(batches)["input_ids"] for _ in range(n)])  # 3 epochs, batches spanning epochs
    rows = {tuple(row.tolist()) for row in torch.from_numpy(np.stack([pack[i][0] for i in range(n)]))}
    for epoch in range(3):
        assert {tuple(row.tolist()) for row in seen[epoch * n : (epoch + 1) * n]} == rows
    assert not torch.equal(seen[:n], seen[n : 2 * n])

    again = Batches(pack, batch_size=3, seed=5)
    for _ in range(5):
        next(again)
    resumed = Batches(pack, batch_size=3, seed=5)
    resumed.load_state_dict(again.state_dict())
    assert torch.equal(torch.cat([next(resumed)["input_ids"] for _ in range(n - 5)]), seen[15:])
    with pytest.raises(ValueError, match="seed"):
        Batches(pack, batch_size=3, seed=6).load_state_dict(again.state_dict())


def test_unshuffled_and_sequential_batches_keep_pack_order(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack")
    ordered = np.stack([pack[i][0] for i in range(len(pack))])
    assert torch.equal(next(Batches(pack, len(pack), shuffle=False))["input_ids"], torch.from_numpy(ordered))
    chunks = list(sequential_batches(pack, 4))
    assert torch.equal(torch.cat([c["input_ids"] for c in chunks]), torch.from_numpy(ordered))
    assert len(list(sequential_batches(pack, 4, limit=2))) == 2
