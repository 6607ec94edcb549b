"""``run_request``: selection, the job, the apply and the report, the one path every caller uses.

The command line, the demo and the daemon's workers all call
:func:`run_request`; nothing else selects items, converts errors or applies a
ChangeSet.
"""

from __future__ import annotations

from pathlib import Path

from bridge.audio.reader import collect_warnings
from bridge.changes.extstate import project_id
from bridge.errors import ReabridgeError
from bridge.fileio import Outputs
from bridge.jobs.engines import Engines
from bridge.jobs.result import JobResult, ProgressFn, no_progress
from bridge.jobs.table import JOBS
from bridge.jobs.work import Work
from bridge.project.items import Item
from bridge.project.project import Project, norm_guid
from bridge.project.tracks import Track
from bridge.requests.models import AnyRequest, Items, ProjectRef
from bridge.requests.paths import PATH_OPTIONS, PathPolicy
from bridge.session.base import Session


def select_items(project: Project, items: Items) -> list[tuple[Track, Item]]:
    """The items a request names: by GUID, all items of named tracks, and the selected ones.

    Raises
    ------
    ReabridgeError
        Nothing asked for, nothing found, or a GUID / track name that is not in the project.
    """
    chosen: list[tuple[Track, Item]] = []
    for guid in items.guids:
        try:
            chosen.append(project.find_item(guid))
        except KeyError:
            raise ReabridgeError(f"no item with GUID {guid} in {_name(project)} (deleted, or another project?)") \
                from None
    for name in items.tracks:
        try:
            track = project.find_track(name)
        except KeyError:
            raise ReabridgeError(f"no track named {name!r} in {_name(project)}") from None
        chosen.extend((track, item) for item in track.items)
    if items.selected:
        chosen.extend(project.selected_items())
    if items.empty:
        raise ReabridgeError("say which items to use: the selected ones, GUIDs or track names")
    if not chosen:
        raise ReabridgeError("no items match: nothing is selected in the project, or the tracks are empty")
    seen: set[str] = set()
    unique = []
    for track, item in chosen:
        if item.guid not in seen:
            seen.add(item.guid)
            unique.append((track, item))
    return unique


def _name(project: Project) -> str:
    return project.path.name if project.path is not None else "the project"


def check_identity(project: Project, ref: ProjectRef) -> None:
    """Refuse a project that is not the one the request was made for (its recorded id differs)."""
    if ref.id is None:
        return
    have = project_id(project.root)
    if have is not None and norm_guid(have) != norm_guid(ref.id):
        raise ReabridgeError(f"{_name(project)} is not the project this request was made for (its id is {have}, "
                             f"the request's {ref.id}); was another project saved under this name?")


def open_session(request: AnyRequest) -> Session:
    """The session for a request's project: the ``.RPP`` file itself (REAPER closed)."""
    from bridge.session.rpp_file import RppFileSession

    assert request.project is not None
    return RppFileSession(Path(request.project.path))


def _nothing_done(verb: str, result: JobResult) -> ReabridgeError:
    if not result.skipped:
        return ReabridgeError(f"no item could be {verb}; nothing was changed")
    first = str(result.skipped[0])
    more = f" (and {len(result.skipped) - 1} more)" if len(result.skipped) > 1 else ""
    return ReabridgeError(f"no item could be {verb}: {first}{more}; nothing was changed")


def _record_paths(project: Project) -> list[Path]:
    base = project.directory or Path.cwd()
    out = []
    for value in project.record_paths:
        path = Path(value.replace("\\", "/"))
        out.append(path if path.is_absolute() else base / path)
    return out


def run_request(request: AnyRequest, session: Session | None = None, *, progress: ProgressFn = no_progress,
                engines: Engines | None = None, paths: PathPolicy | None = None) -> JobResult:
    """Run one request from start to finish.

    Parameters
    ----------
    request : a request model
        From :func:`bridge.requests.parse_request` or built by a caller.
    session : Session, optional
        Where project changes go; the request's ``.RPP`` file when not given.
    progress : callable, optional
        Receives :class:`bridge.jobs.result.Progress` updates.
    engines : Engines, optional
        Warm engines (the daemon's); fresh ones otherwise.
    paths : PathPolicy, optional
        The rules for the request's files (the daemon confines requests).

    Returns
    -------
    JobResult
        With ``project`` and ``applied`` set when the request changed a project.

    Raises
    ------
    ReabridgeError
        Anything a musician can act on: a bad request, a missing item or file,
        a job that found nothing to do. Files the job wrote are removed when
        its changes cannot be applied.
    """
    spec = JOBS[request.job]
    paths = paths or PathPolicy()
    options = request.options  # type: ignore[attr-defined]
    work = Work(engines=engines or Engines(), paths=paths,
                outputs=Outputs(overwrite=bool(getattr(options, "overwrite", False))))
    if request.project is not None:
        if session is None:
            paths.check_project(request.project.path)  # a confined request names a REAPER project, where allowed
            session = open_session(request)
        project = session.project
        check_identity(project, request.project)
        request, roots = paths.check(request, _record_paths(project))
        options = request.options  # type: ignore[attr-defined]
        work.project = project
        if request.items is not None:
            work.items = select_items(project, request.items)
        work.outputs.add_inputs([session.path, *_media(project)])
        check = getattr(session, "check_writable", None)
        if check is not None:
            check()
    else:
        request, roots = paths.check(request)
        options = request.options  # type: ignore[attr-defined]
    if paths.confined:
        work.outputs.confine = roots
    _check_outputs(spec.output, options, work)
    with work.outputs, collect_warnings() as warnings:  # what the job wrote is removed if anything below fails
        result: JobResult = spec.runner()(request, work, progress)
        result.notices[:0] = warnings
        if request.project is None:
            return result
        if result.changes is None or not result.changes.ops:
            if not result.done:
                raise _nothing_done(spec.verb, result)
            return result
        assert session is not None
        applied = session.apply(result.changes)
    result.applied = applied.applied if applied.waiting is None and not applied.handed_off else None
    if applied.handed_off:
        result.notices.append("applied by the REAPER action that asked for it")
    if applied.waiting is not None:
        result.notices.append(applied.waiting)
    result.project = str(session.path)
    return result


def _media(project: Project) -> list[Path]:
    """Every media file the project's items play (none of them is ever written to)."""
    found = []
    for _, item in project.items():
        for take in item.takes:
            source = take.source
            resolved = source.resolve() if source is not None else None
            if resolved is not None and resolved.exists:
                found.append(resolved.path)
    return found


def _check_outputs(kind: str | None, options: object, work: Work) -> None:
    """Check the outputs a request names, before any work is done."""
    inputs = [Path(getattr(options, name)) for name, role in PATH_OPTIONS.items()
              if role == "input" and getattr(options, name, None)]
    inputs += [Path(p) for p in getattr(options, "effects_dirs", None) or []]
    work.outputs.add_inputs(inputs)
    output = getattr(options, "output", None)
    if output is not None and kind is not None:
        work.outputs.target(Path(output), kind, "the output")
    report = getattr(options, "report", None)
    if report is not None:
        work.outputs.folder(Path(report), "the report folder")
