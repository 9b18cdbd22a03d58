"""The parts of ``lossexpert.watch`` (private): one module per job.

- ``schedule``: which optimizer steps are sampled;
- ``layers``: per-layer gradient / weight / update statistics on the device (DDP and FSDP2);
- ``activations``: dead / saturated fractions from hooks that live only during sampled steps;
- ``data``: input and label statistics of the first training batches, output width;
- ``introspect``: the config read from the model, optimizer, loss module and loader;
- ``sink``: the file, with faults (disk full, read-only) turned into one warning;
- ``hooks``: hooks that deep copies and pickles of the watched objects do not carry.

``lossexpert.collectors.torch_watch.Watch`` wires them to the training loop.
"""
