"""Media files the tests make: a short silent video (PyAV), for length matching and video-to-music."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_video(path: Path, seconds: float) -> Path:
    """A black 32x32 MPEG-4 video of `seconds` at 10 fps."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(int(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
