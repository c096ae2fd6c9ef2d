"""Training models from curated faces (Django-free): training data, the shared Keras fitting loop,
and one module per model kind."""
