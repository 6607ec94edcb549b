"""Audio to MIDI with basic-pitch's model, run through onnxruntime (no TensorFlow)."""

from bridge.transcribe.engine import Transcriber, Transcription
from bridge.transcribe.model import BasicPitchModel, ModelError, model_path
from bridge.transcribe.notes import NoteEvent, NoteParams

__all__ = ["BasicPitchModel", "ModelError", "NoteEvent", "NoteParams", "Transcriber", "Transcription", "model_path"]
