"""The model loop: train models from curated faces, evaluate them against curated pages, list and
activate them (services, selectors, API)."""
