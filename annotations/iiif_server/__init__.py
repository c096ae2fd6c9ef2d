"""What we serve over IIIF: the Image API for local scans, derivatives, and Presentation 3 manifests."""
