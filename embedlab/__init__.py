"""embedlab: the support package of *Embeddings, Gradients and Attention, from scratch in PyTorch*.

One small module per concept; imports go one way (an earlier concept never imports a later one):
``device``, ``corpora``, ``plot`` are shared; the chapters add ``text``, ``skipgram``, ``grads``,
``pretrained``, ``pooling``, ``train``, ``attention``.

Shape legend, used in every module: B batch, T tokens, V vocabulary, D embedding, H heads,
Dh head dim, C classes.
"""

__version__ = "0.1.0"
