"""Django-free IIIF helpers: Presentation parsing, messy dates and Image API URLs."""
