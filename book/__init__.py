"""Hand-written book pages and configuration (installed as ``course_book``).

`course build` copies this folder into the generated book source, beside the
chapters it writes from the concept plugins.
"""
