"""``python -m lossexpert``: the same command line as ``lossexpert``."""

from lossexpert.cli import main

main()
