"""Audio input: block reading, checks, streaming resampling."""

from bridge.audio.reader import AudioError, AudioInfo, audio_info, iter_blocks
from bridge.audio.resample import resample_stream, resampled_length

__all__ = ["AudioError", "AudioInfo", "audio_info", "iter_blocks", "resample_stream", "resampled_length"]
