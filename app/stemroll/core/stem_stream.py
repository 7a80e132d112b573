"""A fitted separation model, and the stems it makes block by block.

``core.separation.model_steps`` analyses a recording and fits the model (yielding progress);
``stem_blocks`` then resynthesises the stems from it one block of samples at a time, reading the
recording through a ``core.samples.Samples`` source. Held at once: W, H and one block's spectra
and masks (tens of MB at the defaults), never the stems of the whole recording, so the blocks
can go straight to files (``io.stem_files``). ``core.separation.separate_steps`` collects them
into arrays instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .constraints import RESIDUAL_GROUP, Component
from .params import SeparationParams
from .samples import as_samples
from .score import RESIDUAL_NAME, NoteGroup
from .segments import group_masks, resynthesis_blocks
from .spectral import STFTConfig
from .unisons import UnisonRegion


@dataclass
class SeparationModel:
    """What the stems are made from.

    ``cfg``, ``W`` float32 (cfg.n_bins, K) and ``H`` float32 (K, n_frames): the model the masks
    come from (after a refinement, the long window and its templates); ``comp_groups`` int (K,):
    each component's group. ``groups``: the note groups in stem order (the residual stem comes
    last); ``note_counts``: group id -> notes. ``segment_frames``: frames per resynthesis block.
    ``costs``, ``converged``, ``unisons``, ``decay_db_per_s``, ``components``: as in
    ``SeparationResult``. ``elapsed_s``: seconds spent up to the fitted model.
    """

    sample_rate: int
    channels: int
    n_samples: int
    cfg: STFTConfig
    params: SeparationParams
    W: np.ndarray
    H: np.ndarray
    comp_groups: np.ndarray
    groups: tuple[NoteGroup, ...]
    note_counts: dict[int, int]
    segment_frames: int
    costs: list[float] = field(default_factory=list)
    converged: bool = False
    components: list[Component] = field(default_factory=list)
    unisons: list[UnisonRegion] = field(default_factory=list)
    decay_db_per_s: dict[int, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def n_stems(self) -> int:
        return len(self.groups) + 1

    def stem_names(self) -> list[tuple[str, int, int]]:
        """(name, group id, note count) of each stem, in the order of the blocks' rows."""
        rows = [(g.name, g.id, self.note_counts.get(g.id, 0)) for g in self.groups]
        return rows + [(RESIDUAL_NAME, RESIDUAL_GROUP, 0)]


def stem_blocks(model: SeparationModel, audio, *, threads: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """The stems of ``audio`` (the recording ``model`` was fitted on: an array (channels, n_samples)
    or a ``Samples`` source) block by block: yields ``(start_sample, block)``, block float32
    (model.n_stems, channels, m); consecutive, covering every sample; the last row is the
    residual, so each block's rows add up to the mix."""
    src = as_samples(audio)
    if (src.channels, src.n_samples) != (model.channels, model.n_samples):
        raise ValueError(f"the recording has {src.channels} x {src.n_samples} samples, the model was fitted on "
                         f"{model.channels} x {model.n_samples}")
    masks = group_masks(model.W, model.H, model.comp_groups, [g.id for g in model.groups],
                        power=model.params.mask_power)
    yield from resynthesis_blocks(src, model.cfg, masks, n_groups=len(model.groups),
                                  segment_frames=model.segment_frames, threads=threads)
