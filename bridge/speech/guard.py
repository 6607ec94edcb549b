"""The English-only guard: Moonshine base-en never hears anything but English, so doubt is checked.

Given speech in another language, the model does one of two things (measured on
real French speech and on espeak-ng's French, German, Dutch, Spanish, Italian,
Polish, Russian and Mandarin voices; see ``benchmarks/speech_accuracy.py``): it
stops at once (no text), or it writes fluent English-looking words with little
confidence ("The climate is mainly known for its beauty and beauty..."). So a
segment is trusted when its tokens' mean log-probability is at least
:data:`MIN_CONFIDENCE` (English speech, far-field meetings included, stays above
-0.5; other languages fell below -0.75), the decoder ended by itself rather than at its
length bound, and the text does not repeat itself (zlib compression ratio at
most :data:`MAX_REPETITION`, Whisper's rule).

For a whole recording: when no segment gives text, it is "no speech" unless the
VAD heard a good deal of speech (then it is speech the model cannot read, most
likely another language); when most of the speech is untrusted, the recording
is refused as not English. Otherwise untrusted segments are left out and listed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from bridge.errors import ReabridgeError
from bridge.speech.moonshine import Decoded

MIN_CONFIDENCE = -0.6  #: mean log-probability per token below which a segment is not trusted
MAX_REPETITION = 2.4  #: zlib compression ratio above which text is a loop, not speech
MIN_UNREAD = 3.0  #: seconds of speech without text that make a recording "not English" rather than "no speech"
MIN_UNREAD_SHARE = 0.1  #: ... and the share of the recording they must be


class NoSpeechError(ReabridgeError):
    """Nothing in the audio is speech (silence, music, noise)."""


class NotEnglishError(ReabridgeError):
    """There is speech, but not speech the English-only model can transcribe."""


def repetition(text: str) -> float:
    """How much a text repeats itself: its length over its zlib-compressed length."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def confidence(decoded: Decoded) -> float:
    """Mean log-probability of a decoding's tokens (0 when there are none)."""
    return sum(decoded.logprobs) / len(decoded.logprobs) if decoded.logprobs else 0.0


@dataclass(frozen=True)
class Verdict:
    """What the guard thinks of one segment."""

    trusted: bool
    empty: bool
    reason: str = ""


def judge(decoded: Decoded) -> Verdict:
    """Whether a segment's decoding is English speech the transcript can show."""
    if not decoded.text.strip():
        return Verdict(False, True, "no words")
    if not decoded.finished:
        return Verdict(False, False, "the decoder ran to its length bound")
    if confidence(decoded) < MIN_CONFIDENCE:
        return Verdict(False, False, f"low confidence ({confidence(decoded):.2f})")
    if repetition(decoded.text) > MAX_REPETITION:
        return Verdict(False, False, "the text repeats itself")
    return Verdict(True, False)


def check_recording(duration: float, speech: float, trusted: float, untrusted: float, empty: float) -> None:
    """Refuse a recording with no speech, or whose speech is not English (seconds of each kind).

    Raises
    ------
    NoSpeechError
        Nothing was heard as speech, or what was is short and gave no words (music, noise).
    NotEnglishError
        Speech was heard but most of it gave no trusted words.
    """
    if trusted <= 0.0:
        unread = untrusted + empty
        if speech <= 0.0 or (untrusted <= 0.0 and (unread < MIN_UNREAD or unread < MIN_UNREAD_SHARE * duration)):
            raise NoSpeechError(f"no speech found in {duration:.1f} s of audio; nothing was written")
        raise NotEnglishError(f"{unread:.0f} s of speech, but none of it could be read as English; the speech "
                              "model (Moonshine base-en) is English-only, so nothing was written")
    if untrusted + empty > trusted and untrusted + empty >= MIN_UNREAD:
        raise NotEnglishError(f"most of the speech ({untrusted + empty:.0f} of {speech:.0f} s) does not read as "
                              "English; the speech model (Moonshine base-en) is English-only, so nothing was written")
