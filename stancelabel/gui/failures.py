"""Errors met inside a call from Qt (a model's data(), a paint, a slot) handed to the application's handler.

Qt cannot carry a Python exception back through its own frames: one raised there
is printed with a prefix of PySide's and lost. Code that reads the project from
such a call catches the known kind and reports it here instead; the handler
``run_gui`` installs shows it and closes the project (a damaged file), and
without one (in tests) it is raised as usual.
"""

from __future__ import annotations

import sys


def report(error: BaseException) -> None:
    """Give ``error`` to the installed exception handler, with its traceback."""
    hook = sys.excepthook
    if hook is sys.__excepthook__:
        raise error
    hook(type(error), error, error.__traceback__)
