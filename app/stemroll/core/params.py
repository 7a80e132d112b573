"""Separation parameters with their defaults. Every field is reachable from the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

Divergence = Literal["kl", "euclidean"]


@dataclass(frozen=True)
class SeparationParams:
    """Settings of the score-informed separation.

    window_s / n_fft / hop_length: analysis window. ``n_fft=0`` picks the power of two closest
        to ``window_s`` seconds at the file's rate; ``hop_length=0`` uses a quarter window.
    n_harmonics: partials per harmonic template.
    tolerance_cents: half-width of the band allowed around each partial.
    onset_tolerance_s / offset_tolerance_s: how far before a note's start and after its end
        the note may sound (activations are zero outside).
    onset_templates: add a broadband attack component per (group, pitch).
    divergence: 'kl' (generalised Kullback-Leibler) or 'euclidean'.
    iterations / tol: stop after this many updates, or when the relative cost change falls below tol.
    residual_components: free components that form the residual stem.
    mask_power: exponent of the soft (alpha-Wiener) masks; 2 is the classic Wiener filter.
    template_focus: how much each part's templates learn only from the time-frequency cells that
        part dominates (exponent of the dominance weights, ``core.informed_nmf``); 0 is the
        plain KL update. Applies to the 'nmf' engine with the 'kl' divergence.
    decay_prior: hold the notes of parts that die away (piano, guitar) to a non-increasing envelope
        after their attack in the last third of the iterations, when the recording also has
        sustained parts (``core.priors``; which parts decay is measured, not assumed).
    fine_window_s / fine_iterations / fine_tolerance_cents: after the factorisation the templates
        are learned again on a longer window (finer frequency grid, same hop) with the activations
        fixed, and the masks are applied there (``core.refine``). 0 seconds or 0 iterations: off.
    """

    window_s: float = 0.093
    n_fft: int = 0
    hop_length: int = 0
    n_harmonics: int = 20
    tolerance_cents: float = 40.0
    onset_tolerance_s: float = 0.1
    offset_tolerance_s: float = 0.25
    onset_templates: bool = True
    onset_window_s: float = 0.1
    divergence: Divergence = "kl"
    iterations: int = 30
    tol: float = 1e-4
    residual_components: int = 2
    mask_power: float = 2.0
    engine: Literal["nmf", "nae"] = "nmf"
    template_focus: float = 2.0
    decay_prior: bool = True
    fine_window_s: float = 0.186
    fine_iterations: int = 12
    fine_tolerance_cents: float = 60.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.divergence not in ("kl", "euclidean"):
            raise ValueError(f"divergence must be 'kl' or 'euclidean', got '{self.divergence}'")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if self.fine_iterations < 0:
            raise ValueError(f"fine_iterations must be >= 0, got {self.fine_iterations}")
        if self.n_harmonics < 1:
            raise ValueError(f"n_harmonics must be >= 1, got {self.n_harmonics}")
        if self.mask_power <= 0:
            raise ValueError(f"mask_power must be > 0, got {self.mask_power}")
        if self.residual_components < 0:
            raise ValueError(f"residual_components must be >= 0, got {self.residual_components}")
        for name in ("tolerance_cents", "onset_tolerance_s", "offset_tolerance_s", "window_s", "template_focus",
                     "fine_window_s", "fine_tolerance_cents"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SeparationParams":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
