"""Sphinx extensions local to the book (see ``sphinx.local_extensions`` in ``_config.yml``)."""
