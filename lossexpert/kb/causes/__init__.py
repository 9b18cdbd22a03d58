"""The built-in cause units, one directory each: ``<id>/__init__.py`` (``CAUSE``: the rules,
their English descriptions and cases, the rank) and ``<id>/<lang>.j2`` (the words, and in every
language but English the rules' descriptions). Discovered, not listed, and checked when the
knowledge base loads (``lossexpert.kb``): add a directory, done."""
