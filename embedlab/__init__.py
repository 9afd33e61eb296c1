"""embedlab: the support package of *Embeddings, Gradients and Attention, from scratch in PyTorch*.

One small module per concept; imports go one way (an earlier concept never imports a later one).
Shared: ``device`` (device, seeds, determinism), ``corpora`` (data and pretrained files, checksummed),
``plot`` (figures, CJK font). By chapter: ``text`` (01), ``skipgram`` (02), ``grads`` (03),
``pretrained`` (04), ``pooling`` and ``train`` (05), ``attention`` (06), ``encoder`` and
``finetune`` (07).

Shape legend, used in every module: B batch, T tokens, V vocabulary, D embedding, H heads,
Dh head dim, C classes.
"""

__version__ = "0.1.0"
