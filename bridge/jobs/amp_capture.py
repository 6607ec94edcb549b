"""The amp capture job: a ``.nam`` trained from a DI and its re-amp (files, or two project items)."""

from __future__ import annotations

from pathlib import Path

from bridge.amp.capture import require_training, train_capture
from bridge.audio.item_audio import plan_item_audio
from bridge.audio.reader import read_audio
from bridge.errors import ReabridgeError
from bridge.jobs.result import ItemNote, JobResult, Progress, ProgressFn
from bridge.jobs.work import Work
from bridge.requests.models import AmpCaptureRequest


def run(request: AmpCaptureRequest, work: Work, progress: ProgressFn) -> JobResult:
    """Train the capture and write it to ``options.output``."""
    o = request.options
    require_training()  # before any audio is read: a plain install says what to add
    output = work.outputs.target(Path(o.output), "nam", "the output")
    if work.project is not None:
        signals = []
        for guid in (o.di_item, o.reamp_item):
            try:
                track, item = work.project.find_item(guid)  # type: ignore[arg-type]
            except KeyError:
                raise ReabridgeError(f"no item with GUID {guid} in the project (deleted, or another project?)") \
                    from None
            plan = plan_item_audio(track, item)
            signals.append((plan.samples(), plan.effective_rate))
    else:
        signals = [(audio, info.sample_rate) for audio, info in
                   (read_audio(Path(p), mono=True) for p in (o.di, o.reamp))]  # type: ignore[arg-type]
    (x, x_rate), (y, y_rate) = signals
    if x_rate != y_rate:
        raise ReabridgeError(f"the DI is at {x_rate:g} Hz but the re-amp at {y_rate:g} Hz; use the same rate")

    def report(epoch: int, total: int, value: float) -> None:
        progress(Progress("training", epoch / total, f"epoch {epoch}/{total}, validation ESR {value:.4f}"))

    result = train_capture(x, y, x_rate, output, o.size, o.epochs, o.name or Path(o.output).stem, progress=report,
                           outputs=work.outputs)
    latency_ms = 1000 * result.latency_samples / x_rate
    done = [ItemNote("", f"re-amp latency {result.latency_samples} samples ({latency_ms:.2f} ms), compensated"),
            ItemNote("", f"validation ESR {result.validation_esr:.4f}: {result.grade}")]
    return JobResult("amp_capture", f"wrote {result.path}", files=[Path(result.path)], done=done,
                     data={"output": str(result.path), "validation_esr": result.validation_esr,
                           "grade": result.grade, "latency_samples": result.latency_samples})
