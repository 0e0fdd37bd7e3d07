"""What every ``posetrack-*`` command shares: ``--verbose``, logging, and the exit codes.

    def main(argv: list[str] | None = None) -> int:
        args = parse_args(argv)                    # argparse: bad arguments exit 2
        return cli.run_main("posetrack-eval", args, run)

Exit codes: 0 ok; 1 an expected failure (``EXPECTED_ERRORS``), reported as one line
``<prog>: error: <message>`` on stderr (the traceback too with ``--verbose``); 2 bad command
line (argparse's own, and ``check_output_paths``); 130 Ctrl-C; 143 SIGTERM and 129 SIGHUP
(what ``timeout``, ``docker stop``, Kubernetes, Ray and a closed terminal send), which stop
the app exactly like Ctrl-C: while ``run`` works they raise ``Stopped``, a
``KeyboardInterrupt``. An app with more to say on a stop (posetrack-run writes the frames
finished so far) catches ``KeyboardInterrupt`` itself and returns ``stop_exit_code(stop)``.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping, Optional

from tracker.errors import PoseTrackError

#: Failures a user can cause and fix (a bad file, config value or device, an unreadable or
#: unwritable path): one line, exit code 1. Anything else is a bug and keeps its traceback.
#: ``PoseTrackError`` is the root of the project's own errors; OSError and ValueError come
#: from the standard library, OpenCV, torch and onnxruntime on bad input.
EXPECTED_ERRORS = (PoseTrackError, OSError, ValueError)
#: Loggers shown at DEBUG level with ``--verbose`` (third-party ones stay at WARNING).
PROJECT_LOGGERS = ("apps", "detectors", "tracker")
INTERRUPTED = 130
#: Signals that stop an app like Ctrl-C (SIGHUP does not exist on Windows).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A stop signal (``STOP_SIGNALS``) received while an app runs; handled like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def stop_exit_code(stop: KeyboardInterrupt) -> int:
    """128 + the signal number: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + getattr(stop, "signum", signal.SIGINT)


def stop_description(stop: KeyboardInterrupt) -> str:
    """"interrupted" for Ctrl-C, "stopped by SIGTERM" (or SIGHUP) for a stop signal."""
    return str(stop) if isinstance(stop, Stopped) else "interrupted"


#: While ``stops_deferred`` runs: the stop signals received so far (else None).
_deferred: Optional[list] = None


def _on_stop_signal(signum: int, frame) -> None:
    """Raise the stop (``KeyboardInterrupt`` for SIGINT, ``Stopped`` otherwise), or keep it
    for the end of ``stops_deferred``. After a SIGTERM/SIGHUP further ones are ignored, so
    the cleanup the first one started is not cut short (Ctrl-C twice still stops twice)."""
    if _deferred is not None:
        _deferred.append(signum)
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    for name in STOP_SIGNALS:
        signal.signal(name, signal.SIG_IGN)
    raise Stopped(signum)


@contextmanager
def stop_signals_raised() -> Iterator[None]:
    """While the block runs, a stop signal raises ``Stopped`` (Ctrl-C ``KeyboardInterrupt``)
    in the main thread, except inside ``stops_deferred``; the previous handlers come back
    afterwards. A signal ignored before (``nohup`` ignores SIGHUP) stays ignored. Outside
    the main thread Python cannot set handlers: nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {name: signal.getsignal(name) for name in STOP_SIGNALS + (signal.SIGINT,)}
    for name, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(name, _on_stop_signal)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(name, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def stops_deferred() -> Iterator[None]:
    """A stop signal received inside the block is raised when the block ends, so that work
    which must be whole (one frame written to every output) is never cut in half."""
    global _deferred
    if _deferred is not None:      # nested: the outer block raises
        yield
        return
    _deferred = []
    try:
        yield
    finally:
        received, _deferred = _deferred, None
    if received:
        _on_stop_signal(received[0], None)


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (``os.path.samefile`` when both exist)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output_paths(parser: argparse.ArgumentParser, outputs: Mapping[str, object],
                       inputs: Mapping[str, object]) -> None:
    """Refuse (``parser.error``: exit 2, before any work) an output that is an existing folder,
    that is one of the inputs, or that is another output.

    Args:
        outputs: flag -> output path (None: not given), e.g. ``{"--out": args.out}``.
        inputs: flag or argument name -> input path, URL or camera index (None: not given);
            what is not an existing file is compared by its resolved path.
    """
    given_outputs = [(flag, Path(p)) for flag, p in outputs.items() if p is not None]
    given_inputs = [(flag, Path(str(p))) for flag, p in inputs.items()
                    if p is not None and str(p)]
    for i, (flag, path) in enumerate(given_outputs):
        if path.is_dir():
            parser.error(f"{flag} {path} is a folder: give the path of a file to write "
                         "(in it or elsewhere)")
        for other_flag, other in given_inputs:
            if _same_file(path, other):
                parser.error(f"{flag} {path} is the input {other_flag} {other}: writing it "
                             f"would destroy it; give another {flag} path")
        for other_flag, other in given_outputs[:i]:
            if _same_file(path, other):
                parser.error(f"{flag} and {other_flag} are the same file {path}; give "
                             "each output its own path")


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--verbose`` flag every app has."""
    parser.add_argument("--verbose", action="store_true",
                        help="show the traceback of an error, and debug logging")


def setup_logging(verbose: bool) -> None:
    """WARNING and up as ``LEVEL: message``; the project's DEBUG lines too when verbose."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.NOTSET)


def report_error(prog: str, error: BaseException, verbose: bool,
                 context: Optional[str] = None) -> None:
    """``<prog>: error: [<context>: ]<message>`` on stderr, after the traceback if ``verbose``."""
    if verbose:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    print(f"{prog}: error: {context + ': ' if context else ''}{error}", file=sys.stderr)


def run_main(prog: str, args: argparse.Namespace, run: Callable[[argparse.Namespace], int],
             *, interrupted: Callable[[], str] = lambda: "interrupted") -> int:
    """``run(args)``'s exit code; an expected error is 1, Ctrl-C 130, SIGTERM 143, SIGHUP 129.

    Args:
        prog: the command's name, first word of its error lines.
        args: the parsed command line (with ``verbose``).
        run: the app's work; returns its exit code.
        interrupted: the line printed on Ctrl-C (called then, so it can say how far it got).
    """
    setup_logging(args.verbose)
    try:
        with stop_signals_raised():
            return run(args)
    except KeyboardInterrupt as stop:
        print(interrupted(), file=sys.stderr)
        return stop_exit_code(stop)
    except EXPECTED_ERRORS as error:
        report_error(prog, error, args.verbose)
        return 1
