"""Requests: one typed, versioned, strictly validated request per job.

A request is what a REAPER action, the command line, the demo and a batch all
send: which job, on which project and items, with which options. It is plain
JSON (the Lua actions write exactly this; ``reabridge requests schema`` prints
its JSON Schema)::

    {"version": 1, "id": "transcribe-3f2a9c", "job": "transcribe",
     "project": {"path": "/songs/a/a.RPP", "id": "{8C1D...}"},
     "items": {"selected": true},
     "options": {"onset_threshold": 0.5}}

Validation is strict: unknown fields, wrong types (``"0.5"`` for a number),
NaN and infinities, out-of-range values and impossible combinations (an audio
file *and* a project, ``map`` without ``apply``) are refused with a message
naming the field.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

VERSION = 1

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
GUID_PATTERN = r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$"
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")


def _path_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a path cannot contain a NUL character")
    return value


def _stamp(value: str) -> str:
    if not _STAMP.fullmatch(value):
        raise ValueError("must be a UTC time like 2026-01-31T12:00:00Z")
    try:
        _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("is not a real date and time") from None
    return value


def utc_now() -> str:
    """Now, in the form requests carry (ISO 8601, UTC, seconds)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


PathText = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_path_text)]
Guid = Annotated[str, StringConstraints(pattern=GUID_PATTERN)]
RequestId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Stamp = Annotated[str, AfterValidator(_stamp)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Format = Literal["16", "24", "32f"]
Preset = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class Strict(BaseModel):
    """Base of every request model: unknown fields, wrong types and NaN are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class ProjectRef(Strict):
    """The project a request targets.

    Attributes
    ----------
    path : str
        The ``.RPP`` file (absolute).
    id : str, optional
        The project's reabridge identity, a GUID recorded in its ext state
        (``REABRIDGE/project_id``). When both the request and the file have
        one they must agree, so a result never lands in another project saved
        under the same name.
    snapshot : str, optional
        The project as REAPER held it when the request was made (RPP text in a
        file of the spool's ``snapshots/`` folder), written by the REAPER actions
        so a job sees unsaved edits even when REAPER's Python is not set up.
    """

    path: PathText
    id: Guid | None = None
    snapshot: PathText | None = None


class Items(Strict):
    """Which items of the project: the selected ones, by GUID, or all items of named tracks."""

    selected: bool = False
    guids: list[Guid] = Field(default_factory=list, max_length=10000)
    tracks: list[Name] = Field(default_factory=list, max_length=1000)

    @property
    def empty(self) -> bool:
        """Nothing asked for."""
        return not (self.selected or self.guids or self.tracks)


class _Request(Strict):
    version: Literal[1] = 1
    id: RequestId
    created: Stamp = Field(default_factory=utc_now)
    project: ProjectRef | None = None
    items: Items | None = None
    #: when REAPER's Python server does not answer, hand the result back to the REAPER
    #: action that sent the request (its status file carries the chunk text to apply)
    #: rather than writing the ``.RPP`` file or waiting for REAPER
    handoff: bool = False

    @model_validator(mode="after")
    def _handoff(self) -> _Request:
        if self.handoff and self.project is None:
            raise ValueError("handoff: only used with a project")
        if self.project is not None and self.project.snapshot is not None and not self.handoff:
            raise ValueError("project.snapshot: only used with handoff (otherwise the project file is what "
                             "jobs read and change)")
        return self

    @property
    def project_mode(self) -> bool:
        """Whether the request works on a project (rather than on plain files)."""
        return self.project is not None

    def _one_mode(self, file_field: str, file_value: object) -> None:
        """Exactly one of a file or a project; a project needs items."""
        if self.project is not None and file_value is not None:
            raise ValueError(f"give either options.{file_field} or project, not both")
        if self.project is None and file_value is None:
            raise ValueError(f"give options.{file_field}, or a project with items")
        if self.project is not None and (self.items is None or self.items.empty):
            raise ValueError("items: say which items to use (selected, guids or tracks)")
        if self.project is None and self.items is not None:
            raise ValueError("items: only used with a project")


# -- transcribe -------------------------------------------------------------------------
class TranscribeOptions(Strict):
    """basic-pitch's options, named and defaulted as in its ``predict``.

    ``audio``/``output`` are for a plain file (output: ``AUDIO.mid`` by default).
    """

    audio: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    onset_threshold: Fraction = 0.5
    frame_threshold: Fraction = 0.3
    minimum_note_length: Annotated[float, Field(ge=0.0, le=10000.0)] = 127.70
    minimum_frequency: Annotated[float, Field(gt=0.0, le=50000.0)] | None = None
    maximum_frequency: Annotated[float, Field(gt=0.0, le=50000.0)] | None = None
    melodia_trick: bool = True
    multiple_pitch_bends: bool = False
    midi_tempo: Annotated[float, Field(ge=1.0, le=960.0)] = 120.0

    @model_validator(mode="after")
    def _frequencies(self) -> TranscribeOptions:
        lo, hi = self.minimum_frequency, self.maximum_frequency
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"minimum_frequency ({lo:g} Hz) must be below maximum_frequency ({hi:g} Hz)")
        return self


class TranscribeRequest(_Request):
    """Audio to MIDI: a file to a ``.mid``, or project items to MIDI items on new tracks."""

    job: Literal["transcribe"] = "transcribe"
    options: TranscribeOptions = Field(default_factory=TranscribeOptions)

    @model_validator(mode="after")
    def _mode(self) -> TranscribeRequest:
        self._one_mode("audio", self.options.audio)
        if self.project is not None and self.options.output is not None:
            raise ValueError("options.output: only used with options.audio (project results go into the project)")
        return self


# -- tempo --------------------------------------------------------------------------------
Bpm = Annotated[float, Field(ge=15.0, le=600.0)]


class TempoOptions(Strict):
    """Tempo detection; ``apply`` writes it into the project (``map``: a tempo map following the beats).

    ``bpm_range`` limits the tempi considered and ``prefer_bpm`` leans the estimate towards the
    tempo the user expects; ``tolerance_ms`` is how far a beat may be from the map's grid before
    a new tempo point is written, ``min_beats`` the fewest beats between two points.
    """

    audio: PathText | None = None
    apply: bool = False
    map: bool = False
    markers: Literal["bars", "beats"] | None = None
    bpm_range: Annotated[list[Bpm], Field(min_length=2, max_length=2)] | None = None  # [low, high]
    prefer_bpm: Bpm | None = None
    tolerance_ms: Annotated[float, Field(ge=0.5, le=200.0)] = 15.0
    min_beats: Annotated[int, Field(ge=1, le=64)] = 4

    @model_validator(mode="after")
    def _range(self) -> TempoOptions:
        if self.bpm_range is not None and not self.bpm_range[0] < self.bpm_range[1]:
            raise ValueError(f"options.bpm_range: the low tempo comes first and must be below the high one, "
                             f"got {self.bpm_range[0]:g} {self.bpm_range[1]:g}")
        if self.bpm_range is not None and self.prefer_bpm is not None and not (
                self.bpm_range[0] <= self.prefer_bpm <= self.bpm_range[1]):
            raise ValueError(f"options.prefer_bpm: {self.prefer_bpm:g} is outside bpm_range "
                             f"{self.bpm_range[0]:g}-{self.bpm_range[1]:g}")
        return self


class TempoRequest(_Request):
    """Tempo and beats of a file, or of one project item (optionally written into the project)."""

    job: Literal["tempo"] = "tempo"
    options: TempoOptions = Field(default_factory=TempoOptions)

    @model_validator(mode="after")
    def _mode(self) -> TempoRequest:
        self._one_mode("audio", self.options.audio)
        o = self.options
        if self.project is None and (o.apply or o.map or o.markers):
            raise ValueError("options.apply, map and markers work on a project item, not on a file")
        if o.map and not o.apply:
            raise ValueError("options.map: a tempo map is only written with apply")
        return self


# -- amp --------------------------------------------------------------------------------
class AmpRenderOptions(Strict):
    """A DI through a ``.nam`` capture (file: ``output`` defaults to ``AUDIO-<capture>.wav``).

    ``model`` is a ``.nam`` file, or the name of a capture that comes with reabridge
    (``"reabridge Crunch"``; ``reabridge amp list``), found where the request runs.
    """

    model: PathText
    audio: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    input_level: Annotated[float, Field(ge=-40.0, le=40.0)] | None = None
    gain: Annotated[float, Field(ge=-60.0, le=60.0)] = 0.0
    normalize: bool = False
    size: Fraction = 1.0
    format: Format = "32f"


class AmpRenderRequest(_Request):
    """Render a DI file, or project items, through a capture (items get a new active take)."""

    job: Literal["amp_render"] = "amp_render"
    options: AmpRenderOptions

    @model_validator(mode="after")
    def _mode(self) -> AmpRenderRequest:
        self._one_mode("audio", self.options.audio)
        if self.project is not None and self.options.output is not None:
            raise ValueError("options.output: only used with options.audio (renders go into the project's media)")
        return self


class AmpCaptureOptions(Strict):
    """Training a capture: a DI and its re-amped recording, as files or as two project items."""

    output: PathText
    overwrite: bool = False
    di: PathText | None = None
    reamp: PathText | None = None
    di_item: Guid | None = None
    reamp_item: Guid | None = None
    size: Literal["standard", "lite", "feather", "nano"] = "standard"
    epochs: Annotated[int, Field(ge=1, le=10000)] = 100
    name: Name | None = None


class AmpCaptureRequest(_Request):
    """Create a ``.nam`` capture from a DI and its re-amp (CPU training)."""

    job: Literal["amp_capture"] = "amp_capture"
    options: AmpCaptureOptions

    @model_validator(mode="after")
    def _mode(self) -> AmpCaptureRequest:
        o = self.options
        files = o.di is not None or o.reamp is not None
        items = o.di_item is not None or o.reamp_item is not None
        if self.items is not None:
            raise ValueError("items: an amp capture takes options.di_item and options.reamp_item")
        if self.project is None:
            if items:
                raise ValueError("options.di_item and reamp_item need a project")
            if o.di is None or o.reamp is None:
                raise ValueError("give options.di and options.reamp, or a project with di_item and reamp_item")
        else:
            if files:
                raise ValueError("give either options.di/reamp files or a project's di_item/reamp_item, not both")
            if o.di_item is None or o.reamp_item is None:
                raise ValueError("options.di_item and options.reamp_item are both needed with a project")
        return self


# -- master -------------------------------------------------------------------------------
class _MasterChoice(Strict):
    preset: Preset | None = None
    preset_file: PathText | None = None
    target_lufs: Annotated[float, Field(ge=-40.0, le=-3.0)] | None = None
    ceiling: Annotated[float, Field(ge=-12.0, le=0.0)] | None = None

    @model_validator(mode="after")
    def _preset(self) -> _MasterChoice:
        if self.preset is not None and self.preset_file is not None:
            raise ValueError("give options.preset or options.preset_file, not both")
        return self


class MasterOptions(_MasterChoice):
    """Mastering to a preset's loudness under its true-peak ceiling (file: ``output`` is ``MIX-master.wav``)."""

    mix: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    reference: PathText | None = None
    report: PathText | None = None
    format: Format | None = None
    sample_rate: Annotated[int, Field(ge=8000, le=384000)] | None = None


class MasterRequest(_Request):
    """Master a mix file, or what project items play (into new takes)."""

    job: Literal["master"] = "master"
    options: MasterOptions = Field(default_factory=MasterOptions)

    @model_validator(mode="after")
    def _mode(self) -> MasterRequest:
        self._one_mode("mix", self.options.mix)
        o = self.options
        if self.project is not None:
            for name in ("output", "reference", "format", "sample_rate"):
                if getattr(o, name) is not None:
                    raise ValueError(f"options.{name}: only used with options.mix (a file)")
        return self


class MasterJsfxOptions(_MasterChoice):
    """The analysed chain as a JSFX on the master track (``install``: into REAPER's Effects folder)."""

    resource_path: PathText | None = None
    install: bool = True
    bypass: bool = False


class MasterJsfxRequest(_Request):
    """Analyse one item (the rendered mix) and put the mastering chain on the master track as a JSFX."""

    job: Literal["master_jsfx"] = "master_jsfx"
    options: MasterJsfxOptions = Field(default_factory=MasterJsfxOptions)

    @model_validator(mode="after")
    def _mode(self) -> MasterJsfxRequest:
        if self.project is None:
            raise ValueError("project: the chain goes on a project's master track")
        if self.items is None or self.items.empty:
            raise ValueError("items: say which item holds the mix (selected or one GUID)")
        return self


# -- jsfx -------------------------------------------------------------------------------
SliderValue = Annotated[float, Field(ge=-1e12, le=1e12)] | Annotated[str, StringConstraints(min_length=1,
                                                                                              max_length=256)]
SliderKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]


RenderTimeout = Annotated[float, Field(gt=0.0, le=7 * 86400.0, description="seconds the render may take before it is "
                                      "stopped and nothing is written (an effect whose code never finishes)")]


class JsfxRenderOptions(Strict):
    """Running a JSFX offline. ``sliders`` maps a slider number or variable name to a value or enum label."""

    effect: PathText
    audio: PathText
    output: PathText
    overwrite: bool = False
    sliders: dict[SliderKey, SliderValue] = Field(default_factory=dict, max_length=256)
    block: Annotated[int, Field(ge=1, le=65536)] = 512
    tempo: Annotated[float, Field(ge=1.0, le=960.0)] = 120.0
    channels: Annotated[int, Field(ge=1, le=64)] | None = None
    format: Format | None = None
    effects_dirs: list[PathText] = Field(default_factory=list, max_length=64)
    timeout: RenderTimeout | None = None


class JsfxRenderRequest(_Request):
    """Run an audio file through a JSFX."""

    job: Literal["jsfx_render"] = "jsfx_render"
    options: JsfxRenderOptions

    @model_validator(mode="after")
    def _mode(self) -> JsfxRenderRequest:
        if self.project is not None or self.items is not None:
            raise ValueError("project: jsfx_render works on files (options.audio to options.output)")
        return self


class JsfxInsertOptions(Strict):
    """A JSFX put on a track (``"master"``, a track name or GUID) with slider values, installed for REAPER."""

    effect: PathText
    track: Name = "master"
    sliders: dict[SliderKey, SliderValue] = Field(default_factory=dict, max_length=256)
    name: Name | None = None
    bypass: bool = False
    resource_path: PathText | None = None
    install: bool = True
    effects_dirs: list[PathText] = Field(default_factory=list, max_length=64)


class JsfxInsertRequest(_Request):
    """Insert a JSFX file on a project track."""

    job: Literal["jsfx_insert"] = "jsfx_insert"
    options: JsfxInsertOptions

    @model_validator(mode="after")
    def _mode(self) -> JsfxInsertRequest:
        if self.project is None:
            raise ValueError("project: the effect goes on a track of a project")
        if self.items is not None:
            raise ValueError("items: jsfx_insert puts an effect on options.track, not on items")
        return self


# -- speech -------------------------------------------------------------------------------
SpeakerCount = Annotated[int, Field(ge=1, le=20)]


def _speaker_choice(value: str | int | None) -> str | int | None:
    if value is None or value == "auto" or (isinstance(value, int) and not isinstance(value, bool)
                                            and 1 <= value <= 20):
        return value
    raise ValueError(f"'auto' or a number of speakers from 1 to 20, not {value!r}")


SpeakerChoice = Annotated[str | int | None, AfterValidator(_speaker_choice),
                          Field(description="'auto' (count found), a number of speakers (1-20), or null (no labels)")]


class SpeechOptions(Strict):
    """Speech to text (Moonshine base-en, English only).

    File: the transcript is printed, or written to ``output`` (``.srt``, ``.vtt``, ``.txt``
    or ``.json``). Project: each segment of what the items play lands ``as`` regions
    (default), project markers, take markers or ``notes`` items on a new
    ``<track> (transcript)`` track. ``speakers`` labels segments (``"auto"`` finds the
    count between ``min_speakers`` and ``max_speakers``); ``vocabulary`` is a text
    file of terms (one per line) near-misses are snapped to.
    """

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    audio: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    as_: Literal["regions", "markers", "take-markers", "notes"] | None = Field(None, alias="as")
    speakers: SpeakerChoice = None
    min_speakers: SpeakerCount = 1
    max_speakers: SpeakerCount = 8
    vocabulary: PathText | None = None

    @model_validator(mode="after")
    def _speakers(self) -> SpeechOptions:
        if self.min_speakers > self.max_speakers:
            raise ValueError(f"options.min_speakers ({self.min_speakers}) must not be above options.max_speakers "
                             f"({self.max_speakers})")
        return self


class SpeechRequest(_Request):
    """Transcribe speech: a file to text/subtitles, or project items to regions, markers or notes."""

    job: Literal["speech"] = "speech"
    options: SpeechOptions = Field(default_factory=SpeechOptions)

    @model_validator(mode="after")
    def _mode(self) -> SpeechRequest:
        self._one_mode("audio", self.options.audio)
        if self.project is not None and self.options.output is not None:
            raise ValueError("options.output: only used with options.audio (project results go into the project)")
        if self.project is None and self.options.as_ is not None:
            raise ValueError("options.as: only used with a project (it says how segments land in it)")
        return self


# -- speakers -----------------------------------------------------------------------------
class SpeakersOptions(Strict):
    """Who speaks when: a file's turns (printed, or ``output`` as RTTM), or one project item's.

    ``speakers`` is the count when known (``"auto"`` or absent: found between ``min_speakers``
    and ``max_speakers``). ``split`` (project): one track per speaker under the item's track,
    holding copies of the item trimmed to that speaker's turns; the original is muted.
    """

    audio: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    speakers: Literal["auto"] | Annotated[int, Field(ge=1, le=20)] | None = None
    min_speakers: Annotated[int, Field(ge=1, le=20)] = 1
    max_speakers: Annotated[int, Field(ge=1, le=20)] = 8
    split: bool = False

    @model_validator(mode="after")
    def _counts(self) -> SpeakersOptions:
        if self.min_speakers > self.max_speakers:
            raise ValueError(f"options.min_speakers ({self.min_speakers}) must not be above options.max_speakers "
                             f"({self.max_speakers})")
        return self

    @property
    def count(self) -> int | None:
        """The fixed number of speakers, or None to find it."""
        return None if self.speakers in (None, "auto") else int(self.speakers)  # type: ignore[arg-type]


class SpeakersRequest(_Request):
    """Speaker diarization of a file, or of one project item (``split``: a track per speaker)."""

    job: Literal["speakers"] = "speakers"
    options: SpeakersOptions = Field(default_factory=SpeakersOptions)

    @model_validator(mode="after")
    def _mode(self) -> SpeakersRequest:
        self._one_mode("audio", self.options.audio)
        if self.project is not None and self.options.output is not None:
            raise ValueError("options.output: only used with options.audio (project results go into the project)")
        if self.project is None and self.options.split:
            raise ValueError("options.split works on a project item, not on a file")
        return self


# -- render -------------------------------------------------------------------------------
class RenderOptions(Strict):
    """A project's mix rendered without REAPER (``output`` defaults to ``SONG.wav`` beside the project)."""

    project_file: PathText
    output: PathText | None = None
    overwrite: bool = False
    start: Annotated[float, Field(ge=0.0, le=1e6)] | None = None
    end: Annotated[float, Field(gt=0.0, le=1e6)] | None = None
    region: Name | None = None
    missing: Literal["fail", "skip"] = "fail"
    report: PathText | None = None
    format: Format | None = None
    sample_rate: Annotated[int, Field(ge=8000, le=384000)] | None = None
    effects_dirs: list[PathText] = Field(default_factory=list, max_length=64)
    resource_path: PathText | None = None
    force: bool = False
    timeout: RenderTimeout | None = None


class RenderRequest(_Request):
    """Render a project file's mix to an audio file (the project is read, never changed)."""

    job: Literal["render"] = "render"
    options: RenderOptions

    @model_validator(mode="after")
    def _mode(self) -> RenderRequest:
        if self.project is not None or self.items is not None:
            raise ValueError("project: a render reads options.project_file and changes no project")
        o = self.options
        if o.region is not None and (o.start is not None or o.end is not None):
            raise ValueError("options.region: give a region or start/end, not both")
        if o.start is not None and o.end is not None and o.end <= o.start:
            raise ValueError(f"options.end ({o.end:g} s) must be after options.start ({o.start:g} s)")
        return self


# -- clean --------------------------------------------------------------------------------
class CleanOptions(Strict):
    """Clean-up: de-hum -> de-click -> denoise -> de-reverb -> loudness (file: ``output`` is ``AUDIO-clean.wav``).

    With the defaults it is the voice chain (denoise ``voice``, de-hum ``auto``, de-click).
    ``strength`` (0-1) is the most the noise is lowered: 40 dB times it. ``noise_from`` is
    a ``[start, end]`` range in seconds of the audio (project: of the item) to learn the
    noise from, ``noise_item`` another project item that holds the noise alone. ``preview``
    cleans only the first that many seconds of the first item (or the file) into ``output``
    and changes no project.
    """

    audio: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    denoise: Literal["voice", "broadband", "off"] = "voice"
    strength: Fraction = 0.5
    dehum: Literal["auto", "50", "60", "off"] = "auto"
    declick: bool = True
    dereverb: bool = False
    loudness: Annotated[float, Field(ge=-40.0, le=-3.0)] | None = None
    noise_from: Annotated[list[Annotated[float, Field(ge=0.0, le=1e6)]], Field(min_length=2, max_length=2)] | None \
        = None
    noise_item: Guid | None = None
    report: PathText | None = None
    preview: Annotated[float, Field(ge=1.0, le=60.0)] | None = None

    @model_validator(mode="after")
    def _ranges(self) -> CleanOptions:
        if self.noise_from is not None and not self.noise_from[0] < self.noise_from[1]:
            raise ValueError(f"options.noise_from: the start comes first and must be before the end, got "
                             f"{self.noise_from[0]:g} {self.noise_from[1]:g}")
        if self.noise_from is not None and self.noise_item is not None:
            raise ValueError("give options.noise_from or options.noise_item, not both")
        if self.denoise == "off" and (self.noise_from is not None or self.noise_item is not None):
            raise ValueError("options.noise_from and noise_item teach the denoiser: they need denoise voice or "
                             "broadband")
        return self

    @property
    def stage_names(self) -> list[str]:
        """The stages asked for, in processing order (the take's name lists them)."""
        asked = {"dehum": self.dehum != "off", "declick": self.declick, "denoise": self.denoise != "off",
                 "dereverb": self.dereverb, "loudness": self.loudness is not None}
        return [name for name, on in asked.items() if on]


class CleanRequest(_Request):
    """Clean a recording: a file to a file, or project items into a new active take ``Cleaned (...)``."""

    job: Literal["clean"] = "clean"
    options: CleanOptions = Field(default_factory=CleanOptions)

    @model_validator(mode="after")
    def _mode(self) -> CleanRequest:
        self._one_mode("audio", self.options.audio)
        o = self.options
        if not o.stage_names:
            raise ValueError("every stage is off: ask for at least one of denoise, dehum, declick, dereverb, loudness")
        if self.project is not None and o.output is not None and o.preview is None:
            raise ValueError("options.output: only used with options.audio or options.preview (cleaned takes go "
                             "into the project's media)")
        if self.project is None and o.noise_item is not None:
            raise ValueError("options.noise_item names a project item: use options.noise_from with a file")
        return self


# -- stems --------------------------------------------------------------------------------
class StemsOptions(Strict):
    """Vocal/accompaniment split (Spleeter's 2-stem model): a file into ``output`` (a folder, default
    ``AUDIO-stems`` beside the file) as ``vocals.wav`` and ``accompaniment.wav``, or each project item
    onto two tracks under its track, ``Vocals (split)`` and ``Accompaniment (split)`` (the item muted).

    ``format`` is the stems' sample format (default: the input's, else 32-bit float).
    """

    audio: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    format: Format | None = None


class StemsRequest(_Request):
    """Split a file, or project items, into vocals and accompaniment."""

    job: Literal["stems"] = "stems"
    options: StemsOptions = Field(default_factory=StemsOptions)

    @model_validator(mode="after")
    def _mode(self) -> StemsRequest:
        self._one_mode("audio", self.options.audio)
        if self.project is not None and self.options.output is not None:
            raise ValueError("options.output: only used with options.audio (project stems go into the project's "
                             "recording folder)")
        return self


# -- tune ---------------------------------------------------------------------------------
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _key_name(value: str) -> str:
    from bridge.tune.scales import ScaleError, parse_key

    try:
        parse_key(value)
    except ScaleError as exc:
        raise ValueError(str(exc)) from None
    return value


def _scale_name(value: str) -> str:
    from bridge.tune.scales import ScaleError, scale_of

    try:
        scale_of("C", value)
    except ScaleError as exc:
        raise ValueError(str(exc)) from None
    return value


def _note_list(value: str) -> str:
    from bridge.tune.scales import ScaleError, parse_notes

    try:
        parse_notes(value)
    except ScaleError as exc:
        raise ValueError(str(exc)) from None
    return value


class TuneOptions(Strict):
    """Pitch correction (file: ``output`` is ``AUDIO-tuned.wav``; project: a new active take ``Tuned (<key>)``).

    What notes are tuned to -- exactly one of: ``key`` (``"A minor"``, ``"Am"``, ``"F# major"``,
    ``"Bb dorian"``; a bare root with ``scale``), ``scale`` (``"chromatic"``, or a mode with a root in
    ``key``), ``notes`` (``"C D E G A"``), ``guide`` (a ``.mid`` file; in project mode its time 0 is the
    project start) or ``guide_item`` (a MIDI item of the project). ``speed`` is the retune time in ms
    (0: instant, the hard-tune sound); ``strength`` (0-1) how much of each correction is applied;
    ``humanize`` how many cents of each note's own movement are left alone; ``keep_vibrato`` corrects
    only each note's centre. ``report`` is a folder for ``tune-report.json`` and ``tune-report.png``.
    """

    audio: PathText | None = None
    output: PathText | None = None
    overwrite: bool = False
    key: Annotated[ShortText, AfterValidator(_key_name)] | None = None
    scale: Annotated[ShortText, AfterValidator(_scale_name)] | None = None
    notes: Annotated[ShortText, AfterValidator(_note_list)] | None = None
    guide: PathText | None = None
    guide_item: Guid | None = None
    speed: Annotated[float, Field(ge=0.0, le=2000.0)] = 50.0
    strength: Fraction = 1.0
    humanize: Annotated[float, Field(ge=0.0, le=100.0)] = 0.0
    keep_vibrato: bool = False
    report: PathText | None = None

    @model_validator(mode="after")
    def _target(self) -> TuneOptions:
        from bridge.tune.scales import ScaleError

        given = [name for name, on in (("key/scale", self.key is not None or self.scale is not None),
                                       ("notes", self.notes is not None), ("guide", self.guide is not None),
                                       ("guide_item", self.guide_item is not None)) if on]
        if not given:
            raise ValueError("say what to tune to: options.key, options.scale, options.notes, options.guide or "
                             "options.guide_item")
        if len(given) > 1:
            raise ValueError(f"give one of key/scale, notes, guide or guide_item, not {' and '.join(given)}")
        try:
            self.target_scale()
        except ScaleError as exc:
            raise ValueError(str(exc)) from None
        return self

    def target_scale(self):  # type: ignore[no-untyped-def]
        """The :class:`bridge.tune.scales.Scale` asked for, or None for a guide melody."""
        from bridge.tune.scales import ScaleError, parse_key, parse_notes, scale_of

        if self.notes is not None:
            return parse_notes(self.notes)
        if self.scale is not None and self.key is not None:
            return scale_of(self.key, self.scale)
        if self.scale is not None:
            found = parse_key(self.scale) if self.scale.strip().lower() == "chromatic" else None
            if found is None:
                raise ScaleError(f"scale '{self.scale}' needs a root: key 'A' with scale '{self.scale}', or a key "
                                 f"like 'A {self.scale}'")
            return found
        if self.key is not None:
            return parse_key(self.key)
        return None


class TuneRequest(_Request):
    """Correct the pitch of a monophonic part: a file to a file, or project items into a new take ``Tuned (...)``."""

    job: Literal["tune"] = "tune"
    options: TuneOptions

    @model_validator(mode="after")
    def _mode(self) -> TuneRequest:
        self._one_mode("audio", self.options.audio)
        if self.project is not None and self.options.output is not None:
            raise ValueError("options.output: only used with options.audio (tuned takes go into the project's media)")
        if self.project is None and self.options.guide_item is not None:
            raise ValueError("options.guide_item names a MIDI item of a project: with a file, give options.guide "
                             "(a .mid file)")
        return self


# -- library ------------------------------------------------------------------------------
class LibraryIndexOptions(Strict):
    """Index audio files, folders (recursively) and ``.RPP`` projects' media into the library.

    ``paths`` are kept as given (matches report them so); ``db`` is the SQLite library (default:
    ``$XDG_DATA_HOME/reabridge/library.sqlite``).
    """

    paths: Annotated[list[PathText], Field(min_length=1, max_length=10000)]
    db: PathText | None = None


class LibraryIndexRequest(_Request):
    """Fingerprint and describe files into the library (incremental: unchanged files are skipped)."""

    job: Literal["library_index"] = "library_index"
    options: LibraryIndexOptions

    @model_validator(mode="after")
    def _mode(self) -> LibraryIndexRequest:
        if self.project is not None or self.items is not None:
            raise ValueError("project: index a project by putting its .RPP file in options.paths")
        return self


class LibraryFindOptions(Strict):
    """Look a clip up in the library: ``mode`` ``identify`` (which file, where), ``hum`` (which tune),
    ``similar`` (nearest sounds) or ``projects`` (which indexed projects use it).

    The clip is ``audio``, or one project item; in a project, ``identify`` writes its answer
    ``as`` item notes (default) or a marker ``from <file> at 1:23.4``.
    """

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    mode: Literal["identify", "hum", "similar", "projects"] = "identify"
    audio: PathText | None = None
    db: PathText | None = None
    top: Annotated[int, Field(ge=1, le=100)] = 5
    as_: Literal["notes", "markers"] | None = Field(None, alias="as")


class LibraryFindRequest(_Request):
    """Identify a clip, or find its tune, similar sounds or the projects using it, in the library."""

    job: Literal["library_find"] = "library_find"
    options: LibraryFindOptions = Field(default_factory=LibraryFindOptions)

    @model_validator(mode="after")
    def _mode(self) -> LibraryFindRequest:
        self._one_mode("audio", self.options.audio)
        if self.project is None and self.options.as_ is not None:
            raise ValueError("options.as: only used with a project (it says where the answer is written)")
        if self.options.as_ is not None and self.options.mode != "identify":
            raise ValueError("options.as: only the identify mode writes into the project")
        return self


REQUEST_TYPES: dict[str, type[_Request]] = {
    cls.model_fields["job"].default: cls
    for cls in (TranscribeRequest, TempoRequest, AmpRenderRequest, AmpCaptureRequest, MasterRequest,
                MasterJsfxRequest, JsfxRenderRequest, JsfxInsertRequest, RenderRequest, SpeechRequest,
                SpeakersRequest, CleanRequest, StemsRequest, TuneRequest, LibraryIndexRequest, LibraryFindRequest)
}

Request = Annotated[
    TranscribeRequest | TempoRequest | AmpRenderRequest | AmpCaptureRequest | MasterRequest | MasterJsfxRequest
    | JsfxRenderRequest | JsfxInsertRequest | RenderRequest | SpeechRequest | SpeakersRequest | CleanRequest
    | StemsRequest
    | TuneRequest
    | LibraryIndexRequest | LibraryFindRequest,
    Field(discriminator="job"),
]
AnyRequest = _Request
