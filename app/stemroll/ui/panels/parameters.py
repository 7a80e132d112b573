"""Parameters panel: the separation settings (``SeparationParams``) with tooltips in musician's words."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ...core.params import SeparationParams

# field -> (label, tooltip, kind, (min, max, step, decimals), scale shown/stored)
FIELDS = {
    "engine": ("Engine", "NMF fits templates and activations to this recording (the classic method). "
               "The nonnegative autoencoder learns an encoder that decomposes new audio of the same "
               "instrument in one pass.", "choice", None, 1),
    "iterations": ("Passes", "How many refinement passes the engine makes. More passes fit the recording "
                   "more closely but take longer; 30-100 is typical. It stops early once nothing changes.",
                   "int", (0, 2000, 10, 0), 1),
    "tolerance_cents": ("Pitch tolerance", "How far out of tune a note's overtones may lie and still belong to it, "
                        "in cents (100 cents = one semitone). Raise it for vibrato, slides or a detuned piano.",
                        "float", (0.0, 100.0, 5.0, 0), 1),
    "n_harmonics": ("Overtones", "How many overtones of each note the engine listens for. Fewer suits "
                    "mellow sounds (flute), more suits bright ones (strings, brass, piano).",
                    "int", (1, 60, 1, 0), 1),
    "onset_tolerance_s": ("Early start", "How much earlier than written a note may begin, in milliseconds. "
                          "Raise it when the player anticipates or the MIDI is not tightly aligned.",
                          "float", (0.0, 1000.0, 10.0, 0), 1000),
    "offset_tolerance_s": ("Ring out", "How long after its written end a note may keep sounding, in "
                           "milliseconds (sustain pedal, reverb, let-ring).", "float", (0.0, 3000.0, 25.0, 0), 1000),
    "onset_templates": ("Attack sounds", "Also model the short noisy attack of each note (hammer, pluck, "
                        "breath) so it goes to the right stem instead of the residual.", "bool", None, 1),
    "window_s": ("Analysis window", "Length of the slices the recording is analysed in, in milliseconds. "
                 "Longer separates close pitches better, shorter keeps attacks sharper.",
                 "float", (10.0, 400.0, 5.0, 0), 1000),
    "divergence": ("Fit measure", "How the engine measures the difference between its model and the recording. "
                   "Kullback-Leibler suits music best; Euclidean favours the loudest notes.", "choice", None, 1),
    "residual_components": ("Residual sounds", "How many free sound shapes may take what the notes do not explain "
                            "(noise, room, wrong notes). More keeps the stems cleaner but can swallow quiet notes.",
                            "int", (0, 32, 1, 0), 1),
    "mask_power": ("Mask sharpness", "How strictly each time-frequency point goes to one stem. 1 shares it "
                   "smoothly, 2 is the classic choice, higher gives cleaner but more 'watery' stems.",
                   "float", (0.25, 8.0, 0.25, 2), 1),
    "seed": ("Random seed", "Starting point of the residual's free sounds: change it to get a slightly "
             "different result; keep it to get the same result again.", "int", (0, 2**31 - 1, 1, 0), 1),
}
DIVERGENCES = (("Kullback-Leibler", "kl"), ("Euclidean", "euclidean"))
CHOICES = {"divergence": DIVERGENCES, "engine": (("NMF", "nmf"), ("Nonnegative autoencoder", "nae"))}


class ParametersPanel(QWidget):
    """Edits a ``SeparationParams``; emits ``params_changed(object)`` with the new value."""

    params_changed = Signal(object)

    def __init__(self, params: SeparationParams | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._params = params or SeparationParams()
        self.editors: dict[str, QWidget] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.ExpandingFieldsGrow)
        for name, (label, tip, kind, rng, scale) in FIELDS.items():
            if kind == "int":
                w = QSpinBox()
                w.setRange(rng[0], rng[1])
                w.setSingleStep(rng[2])
                w.valueChanged.connect(self._on_edited)
            elif kind == "float":
                w = QDoubleSpinBox()
                w.setRange(rng[0], rng[1])
                w.setSingleStep(rng[2])
                w.setDecimals(rng[3])
                w.valueChanged.connect(self._on_edited)
            elif kind == "bool":
                w = QCheckBox()
                w.toggled.connect(self._on_edited)
            else:
                w = QComboBox()
                for text, value in CHOICES[name]:
                    w.addItem(text, value)
                w.currentIndexChanged.connect(self._on_edited)
            if scale == 1000:
                w.setSuffix(" ms")
            elif name == "tolerance_cents":
                w.setSuffix(" cents")
            w.setToolTip(tip)
            w.setObjectName(name)
            self.editors[name] = w
            form.addRow(label, w)
            form.labelForField(w).setToolTip(tip)
        self.reset_button = QPushButton("Reset to defaults")
        self.reset_button.setToolTip("Put every setting back to its default value")
        self.reset_button.clicked.connect(lambda: self._emit(SeparationParams()))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addWidget(self.reset_button)
        lay.addStretch(1)
        self.set_params(self._params)

    def params(self) -> SeparationParams:
        return self._params

    def set_params(self, params: SeparationParams) -> None:
        """Show ``params`` without emitting ``params_changed``."""
        self._params = params
        for name, w in self.editors.items():
            value = getattr(params, name)
            scale = FIELDS[name][4]
            with QSignalBlocker(w):
                if isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                elif isinstance(w, QComboBox):
                    w.setCurrentIndex(max(0, w.findData(value)))
                else:
                    w.setValue(value * scale)

    def _read(self) -> SeparationParams:
        values = {}
        for name, w in self.editors.items():
            scale = FIELDS[name][4]
            if isinstance(w, QCheckBox):
                values[name] = w.isChecked()
            elif isinstance(w, QComboBox):
                values[name] = w.currentData()
            elif isinstance(w, QSpinBox):
                values[name] = int(w.value())
            else:
                values[name] = float(w.value()) / scale
        return replace(self._params, **values)

    def _on_edited(self, *_args) -> None:
        self._emit(self._read())

    def _emit(self, params: SeparationParams) -> None:
        if params != self._params:
            self.set_params(params)
            self.params_changed.emit(params)
