"""Collectors: everything that turns a source (a file, a training loop, a log) into a ``Run``."""

from lossexpert.collectors.runfile import LoadedRun, load_run

__all__ = ["LoadedRun", "load_run"]
