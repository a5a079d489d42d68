"""Many requests at once: batch files, price-first summaries, budgets, a resumable manifest,
per-provider concurrency and distributed runners.

    >>> from aimusic.batch import load_batch, run_batch, BatchOptions
    >>> items = load_batch("library.yaml")
    >>> report = run_batch(items, BatchOptions(out_dir="library", budget=5.0))

Inside: `schema` (what a batch file may hold) and `expand` (entries -> items); `lanes`,
`limits` (adaptive concurrency, slots, budget), `scheduler` (the driver loop) and `backends`
(threads and processes here; `ray_runner` on a cluster); `manifest`, `execute`, `library`.
"""

from aimusic.batch.expand import Item, load_batch, summarize
from aimusic.batch.scheduler import BatchOptions, BatchReport, BudgetError, run_batch

__all__ = ["BatchOptions", "BatchReport", "BudgetError", "Item", "load_batch", "run_batch", "summarize"]
