"""The built-in concept plugins (installed as ``course_plugins``).

Each sub-package is an ordinary plugin module, loaded through its own entry
point in the ``course`` group exactly as a third-party plugin would be.
"""
