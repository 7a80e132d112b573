"""Runtime hook: sounddevice finds the PortAudio library the bundle carries.

On Linux sounddevice asks ``ctypes.util.find_library("portaudio")``, which consults the system's
linker cache only; on a machine without Debian's libportaudio2 it answers None and audition is
disabled although ``_internal/libportaudio.so.2`` is right there.  Answer with the bundled copy.
"""

import ctypes.util
import os
import sys


def _prefer_bundled_portaudio() -> None:
    bundled = os.path.join(getattr(sys, "_MEIPASS", ""), "libportaudio.so.2")
    if not os.path.isfile(bundled):
        return
    system_find_library = ctypes.util.find_library

    def find_library(name):
        return bundled if name == "portaudio" else system_find_library(name)

    ctypes.util.find_library = find_library


_prefer_bundled_portaudio()
