"""The ``course`` command line: :mod:`course.cli.main` (the group and the
commands for building), :mod:`course.cli.contrib` (for plugin authors) and
:mod:`course.cli.common` (what they share)."""

from course.cli.main import cli, format_table, main, publish_render

__all__ = ["cli", "format_table", "main", "publish_render"]
