"""What every ``posetrack-*`` command shares: ``--verbose``, logging, and the exit codes.

    def main(argv: list[str] | None = None) -> int:
        args = parse_args(argv)                    # argparse: bad arguments exit 2
        return cli.run_main("posetrack-eval", args, run)

Exit codes: 0 ok; 1 an expected failure (``EXPECTED_ERRORS``), reported as one line
``<prog>: error: <message>`` on stderr (the traceback too with ``--verbose``); 2 bad command
line (argparse's own); 130 Ctrl-C. An app with more to say on Ctrl-C (posetrack-run writes
the frames finished so far) catches ``KeyboardInterrupt`` itself and returns 130.
"""
from __future__ import annotations

import argparse
import logging
import sys
import traceback
from typing import Callable, Optional

from tracker.errors import PoseTrackError

#: Failures a user can cause and fix (a bad file, config value or device, an unreadable or
#: unwritable path): one line, exit code 1. Anything else is a bug and keeps its traceback.
#: ``PoseTrackError`` is the root of the project's own errors; OSError and ValueError come
#: from the standard library, OpenCV, torch and onnxruntime on bad input.
EXPECTED_ERRORS = (PoseTrackError, OSError, ValueError)
#: Loggers shown at DEBUG level with ``--verbose`` (third-party ones stay at WARNING).
PROJECT_LOGGERS = ("apps", "detectors", "tracker")
INTERRUPTED = 130


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
    """``run(args)``'s exit code; an expected error is 1, Ctrl-C is 130.

    Args:
        prog: the command's name, first word of its error lines.
        args: the parsed command line (with ``verbose``).
        run: the app's work; returns its exit code.
        interrupted: the line printed on Ctrl-C (called then, so it can say how far it got).
    """
    setup_logging(args.verbose)
    try:
        return run(args)
    except KeyboardInterrupt:
        print(interrupted(), file=sys.stderr)
        return INTERRUPTED
    except EXPECTED_ERRORS as error:
        report_error(prog, error, args.verbose)
        return 1
