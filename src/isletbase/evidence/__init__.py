"""Evidence synthesis: sourced outcomes → effect-size datasets → pooled results → plots, Igls.

Modules: ``outcomes`` (bundled records and conversions), ``dataset`` (effect sizes, --input files),
``meta`` (fixed/random effects via PyMARE), ``pools`` (pooling the bundled data), ``forest``
(plots), ``igls`` (Igls 2.0 grading), ``cases`` (landmark cases), ``living`` (stored, re-pooled).
"""
