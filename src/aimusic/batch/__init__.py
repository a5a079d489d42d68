"""Many requests at once: batch files, price-first summaries, budgets, a resumable manifest,
per-provider concurrency and distributed runners.

    >>> from aimusic.batch import load_batch, run_batch, BatchOptions
    >>> items = load_batch("library.yaml")
    >>> report = run_batch(items, BatchOptions(out_dir="library", budget=5.0))
"""

from aimusic.batch.batchfile import Item, load_batch, summarize
from aimusic.batch.runner import BatchOptions, BatchReport, BudgetError, run_batch

__all__ = ["BatchOptions", "BatchReport", "BudgetError", "Item", "load_batch", "run_batch", "summarize"]
