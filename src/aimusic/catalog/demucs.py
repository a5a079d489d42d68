"""Demucs (Meta's hybrid transformer source separator), run locally by the demucs engine."""

from __future__ import annotations

from aimusic.catalog import ModelEntry
from aimusic.schemas import SeparateInput

# htdemucs, demucs's default model: its `sources`, in its order
DEMUCS_STEMS = ("drums", "bass", "other", "vocals")
DEMUCS_MODEL = "htdemucs"
DEMUCS_REPO = "adefossez/HTDemucs"  # where demucs 4.1 itself fetches it (demucs.hf.get_hf_model)


class DemucsSeparateInput(SeparateInput):
    """Four stems of any track: drums, bass, other (everything else) and vocals."""

    def stem_names(self) -> tuple[str, ...]:
        return DEMUCS_STEMS


MODELS = [
    ModelEntry(id="local/demucs/audio-separate", task="separate", providers=("demucs",),
               title="Demucs stems (local)",
               description="Splits any track into drums, bass, other and vocals with Demucs' htdemucs on "
                           "this machine (GPU or CPU); free. `remove: [vocals]` is an instrumental.",
               input_model=DemucsSeparateInput, price_per_second=0.0, min_seconds=0, max_seconds=3600,
               sample_rate=44100, tier="standard",
               extra={"stems": DEMUCS_STEMS, "name": DEMUCS_MODEL, "repo": DEMUCS_REPO}),
]
