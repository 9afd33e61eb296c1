"""TEMPORARY stand-in for ``embedlab.train`` and ``embedlab.pooling`` (chapter 05), used by chapter 07
until those modules are merged.

Delete this file once they exist and switch its callers to them.

Shape legend: N examples, B batch, T tokens, C classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from embedlab.encoder import _masked_mean
from embedlab.text import PAD_ID


class MeanPoolClassifier(nn.Module):
    """Embeddings (initialised from ``matrix``, trainable), masked mean pooling, a linear head."""

    def __init__(self, matrix: torch.Tensor, num_classes: int = 2):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(matrix.clone(), freeze=False, padding_idx=PAD_ID)
        self.head = nn.Linear(matrix.shape[1], num_classes)

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        pooled = _masked_mean(self.embedding(token_ids), padding_mask)  # (B, T, D) -> (B, D)
        return self.head(pooled)  # (B, D) -> (B, C)


def _batch(inputs: Sequence[torch.Tensor], index: torch.Tensor, device: torch.device | str) -> list[torch.Tensor]:
    """Rows ``index`` of every input, moved to ``device``; the last input is the (N, T) padding mask,
    and the batch is cut to its longest real sequence (right padding only, so nothing real is lost)."""
    rows = [x[index] for x in inputs]
    padding_mask = rows[-1]  # (B, T)
    length = int((~padding_mask).sum(dim=1).max())
    return [x[:, :length].to(device) for x in rows]  # each (B, T', ...)


def fit(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
) -> list[float]:
    """Minimise cross-entropy of ``model(*inputs)`` for some epochs; return the mean loss of each epoch."""
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator)  # (N,)
        total = 0.0
        for start in range(0, len(labels), batch_size):
            index = order[start:start + batch_size]  # (B,)
            logits = model(*_batch(inputs, index, device))  # (B, C)
            loss = F.cross_entropy(logits, labels[index].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        history.append(total / len(labels))
    return history


@torch.no_grad()
def predict(model: nn.Module, inputs: Sequence[torch.Tensor], batch_size: int = 128) -> torch.Tensor:
    """Predicted class of every example, (N,) int64 on the CPU."""
    device = next(model.parameters()).device
    count = len(inputs[0])
    predictions = []
    for start in range(0, count, batch_size):
        index = torch.arange(start, min(start + batch_size, count))  # (B,)
        predictions.append(model(*_batch(inputs, index, device)).argmax(dim=-1).cpu())  # (B,)
    return torch.cat(predictions)  # (N,)


def accuracy(model: nn.Module, inputs: Sequence[torch.Tensor], labels: torch.Tensor, batch_size: int = 128) -> float:
    """Share of examples whose predicted class is the label."""
    return (predict(model, inputs, batch_size) == labels.cpu()).float().mean().item()
