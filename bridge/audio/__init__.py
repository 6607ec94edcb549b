"""Audio input: block reading, checks, streaming resampling."""

from bridge.audio.reader import AudioError, AudioInfo, audio_info, iter_blocks, read_audio
from bridge.audio.resample import resample_stream, resampled_length

__all__ = ["AudioError", "AudioInfo", "audio_info", "iter_blocks", "read_audio", "resample_stream", "resampled_length"]
