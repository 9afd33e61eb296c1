"""embedlab: the support package of *Embeddings, Gradients and Attention, from scratch in PyTorch*.

One small module per concept. ``MODULES`` lists them in their declared order: a module imports
only modules listed before it (a test enforces this), so an earlier concept never depends on a
later one. Shared: ``checks`` (the input contract), ``device`` (device, seeds, determinism),
``corpora`` (data and pretrained files, checksummed, and their splits), ``plot`` (figures, CJK
font). By chapter: ``text`` (01), ``wordvec`` and ``skipgram`` (02), ``pooling`` (05, and the
classifier family every chapter trains), ``grads`` (03), ``pretrained`` (04), ``train`` (05),
``attention`` (06), ``encoder`` (07), ``finetune`` (08), ``retrieval`` (09); last, ``selfcheck``
(the exercises' self-checks, which may use any module).

Shape legend, one meaning per letter in every module: B batch, T tokens (Tq queries, Tk keys),
N tokens of a whole batch in the flat bag layout, V vocabulary, D embedding, H heads, Dh head
dim (D = H * Dh), F feed-forward width, C classes, L layers. A module docstring adds only letters
that it alone uses.

The names the chapters import are listed in ``tests/public_api.txt``; a test compares that file
with the package, so they change only deliberately.
"""

__version__ = "1.0.0"

MODULES = (
    "checks",
    "device",
    "corpora",
    "plot",
    "text",
    "wordvec",
    "skipgram",
    "pooling",
    "grads",
    "pretrained",
    "train",
    "attention",
    "encoder",
    "finetune",
    "retrieval",
    "selfcheck",
)
