"""One module per cause; each defines ``CAUSE``. Discovered, not listed: add a module, done."""
