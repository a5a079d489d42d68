"""Deprecated module path: the batch runner is now `aimusic.batch.scheduler` (the driver
loop, `run_batch`), `aimusic.batch.limits` (AdaptiveLimit, SlotGate, Budget),
`aimusic.batch.backends` (LocalBackend) and `aimusic.batch.lanes` (lanes, remote phases).
Every name that lived here still imports from here."""

from aimusic.batch.backends import LocalBackend, _threaded, make_backend  # noqa: F401
from aimusic.batch.lanes import (HOSTED_PROVIDERS, LOCAL_PROVIDERS, OFFLINE_PROVIDERS,  # noqa: F401
                                 REMOTE_PHASES, lane_of, remote_phases)
from aimusic.batch.limits import AdaptiveLimit, Budget, BudgetError, SlotGate  # noqa: F401
from aimusic.batch.scheduler import (INDEX_EVERY_S, MAX_GROUP, BatchOptions, BatchReport,  # noqa: F401
                                     Event, Scheduler, _Deferred, _lock_library, run_batch)
