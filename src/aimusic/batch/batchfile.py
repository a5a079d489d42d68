"""Deprecated module path: the batch file is now `aimusic.batch.schema` (what a file and an
entry may hold, pydantic models) and `aimusic.batch.expand` (entries -> items). Every name
that lived here still imports from here."""

from aimusic.batch.expand import *  # noqa: F401,F403
from aimusic.batch.expand import (DEFAULT_DRAFT_MODEL, DEFAULT_POLISH_MODEL, MAX_ITEMS, Item,  # noqa: F401
                                  _base_request, _expand_entry, _make_item, _Request, combinations,
                                  load_batch, shape_input, summarize)
from aimusic.batch.schema import (DEFAULT_BATCH_SEED, ENTRY_FIELDS, FILE_FIELDS,  # noqa: F401
                                  read_batch_file)
