"""lossexpert: why is my network's loss not going down, and what do I do about it.

Public surface::

    diagnose(run, *, lang="en", thresholds=None, evidence=...) -> Diagnosis
    consult(run, facts=None, *, lang="en", ...) -> Diagnosis   (user facts + questions)
    load_run(source) -> LoadedRun
    watch(model, optimizer, path, ...) -> Watch   (imports torch only when called)
    doctor(model, optimizer, criterion, loader, ...) -> Diagnosis   (probes; same)
    Run, Diagnosis, Finding, Thresholds and the error types
"""

from lossexpert._consult import consult_run as consult
from lossexpert._diagnose import diagnose
from lossexpert._version import __version__
from lossexpert._watch import watch
from lossexpert.collectors.runfile import LoadedRun, load_run
from lossexpert.diagnosis import Diagnosis, Evidence, Finding, Problem
from lossexpert.doctor import doctor  # torch is imported only when called
from lossexpert.errors import (
    LossexpertError,
    RunInputError,
    RunNotFoundError,
    RunParseError,
    RunSchemaError,
    RunTooLargeError,
)
from lossexpert.kb.thresholds import Thresholds
from lossexpert.runformat import Run

__all__ = [
    "Diagnosis",
    "Evidence",
    "Finding",
    "LoadedRun",
    "LossexpertError",
    "Problem",
    "Run",
    "RunInputError",
    "RunNotFoundError",
    "RunParseError",
    "RunSchemaError",
    "RunTooLargeError",
    "Thresholds",
    "__version__",
    "consult",
    "diagnose",
    "doctor",
    "load_run",
    "watch",
]
