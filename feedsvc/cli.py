"""The `feedsvc` command: argument parsing and exit codes; each command's work is in feedsvc.commands.

Exit codes: 0 ok; 1 the work failed (a section's refresh, a page that could not be read); 2 a usage
or config error (bad arguments, an unknown site or section, an unusable config, an address that cannot
be listened on); 130 interrupted. Every error is one `feedsvc: error: …` line on stderr with control
characters escaped; operators never see a traceback (FEEDSVC_DEBUG=1 shows one for a bug).
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from feedsvc import __version__
from feedsvc.commands import EXIT_CONFIG, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, print_issues
from feedsvc.commands.terminal import print_error
from feedsvc.config import config_path, load_config
from feedsvc.errors import ConfigError, FeedsvcError, NotFound, UsageError, one_line
from feedsvc.logs import DEFAULT_FORMAT, ENV_VARIABLE, FORMATS, logging_configured
from feedsvc.model import SLUG_RE

# An address the config or the command line names that cannot be listened on: the operator's input to
# fix (exit 2), like a bad port number.
_ADDRESS_ERRORS = {errno.EADDRINUSE, errno.EADDRNOTAVAIL}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and --version (0) and on bad arguments (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print_issues(exc, sys.stderr)
        return EXIT_CONFIG
    except (NotFound, UsageError) as exc:
        print_error(one_line(exc))
        return EXIT_USAGE
    except FeedsvcError as exc:
        print_error(one_line(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` that stopped reading: nothing left to say, and nowhere to say it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:
        # Port in use, permission denied, disk full: the operator's to fix, not a bug to trace.
        print_error(f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}")
        # gaierror here is a listen address that names no host: fetch/ turns its own into ConnectionFailed.
        return EXIT_USAGE if exc.errno in _ADDRESS_ERRORS or isinstance(exc, socket.gaierror) else EXIT_ERROR
    except Exception as exc:
        if os.environ.get("FEEDSVC_DEBUG"):
            raise
        print_error(f"unexpected {one_line(exc)} (a bug: FEEDSVC_DEBUG=1 shows the traceback to report)")
        return EXIT_ERROR


class _Parser(argparse.ArgumentParser):
    """argparse with the command's one error format (`feedsvc: error: …`) for bad arguments."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print_error(message)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="feedsvc", description="RSS, Atom and JSON feeds for news sites that publish none."
    )
    parser.add_argument("--version", action="version", version=f"feedsvc {__version__}")
    log_format_option(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    def config_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", metavar="PATH", help="config file (default: $FEEDSVC_CONFIG or ./config.yaml)")

    sub = command("serve", cmd_serve, "serve the feeds and refresh them on schedule")
    config_option(sub)
    log_format_option(sub, default=argparse.SUPPRESS)
    sub.add_argument("--host", help="listen address (overrides server.host)")
    sub.add_argument("--port", type=port_number, help="listen port (overrides server.port)")
    sub.add_argument("--replica-id", type=replica_name,
                     help="this replica's name (overrides cluster.replica_id and $FEEDSVC_REPLICA_ID; default hostname:pid)")

    sub = command("check", cmd_check, "validate the config file and print every problem")
    config_option(sub)

    command("schema", cmd_schema, "print the config's JSON Schema (for editor completion and checking)")

    sub = command("refresh", cmd_refresh, "refresh sections once, now, and print a report")
    config_option(sub)
    log_format_option(sub, default=argparse.SUPPRESS)
    sub.add_argument("target", nargs="?", help="SITE or SITE/SECTION (default: every section)")
    sub.add_argument("--force", action="store_true",
                     help="also refresh sections a site's Retry-After defers (default: skip them until then)")

    sub = command("migrate", cmd_migrate, "migrate the configured store's schema to this version's (serve does it on start)")
    config_option(sub)

    sub = command("copy-store", cmd_copy_store, "copy everything one store holds into another (SQLite <-> PostgreSQL)")
    sub.add_argument("source", metavar="SRC_URL", help="store to copy from, e.g. sqlite:///feedsvc.db")
    sub.add_argument("destination", metavar="DST_URL", help="store to copy into, e.g. postgresql://feedsvc@db/feedsvc")
    sub.add_argument("--force", action="store_true", help="replace what a non-empty destination holds")

    sub = command("status", cmd_status, "print every section's refresh status from the store (exit 1 when failing)")
    config_option(sub)

    sub = command("demo", cmd_demo, "run the service offline against the bundled replica of the site")
    config_option(sub)
    log_format_option(sub, default=argparse.SUPPRESS)
    sub.add_argument("--seeds", default="seeds", metavar="DIR", help="replica site data (default: ./seeds)")
    sub.add_argument("--port", type=port_number, help="listen port (overrides server.port)")

    sub = command("preview", cmd_preview, "show what a section or an article URL extracts to, storing nothing")
    config_option(sub)
    sub.add_argument("target", metavar="TARGET", help="SITE/SECTION or an article URL")
    sub.add_argument("--seeds", metavar="DIR",
                     help="answer for the site's hosts from this replica (e.g. seeds) instead of the network")

    sub = command("discover", cmd_discover, "read a site's home page and print its config block (sections from its menus)")
    sub.add_argument("url", metavar="URL", help="the site's home page, e.g. http://www.cxnews.cn/")
    sub.add_argument("--seeds", metavar="DIR",
                     help="answer for www.cxnews.cn from this replica (e.g. seeds) instead of the network")
    sub.add_argument("--name", type=slug, metavar="SLUG", help="the site's name in the config (default: from the host)")
    sub.add_argument("--config", metavar="PATH",
                     help="read its fetch: settings (user agent, timeouts, min_delay...) and timezone "
                          "(default: $FEEDSVC_CONFIG or ./config.yaml when there is one, else the defaults)")
    return parser


def log_format_option(parser: argparse.ArgumentParser, default: object = None) -> None:
    # Before the command (`feedsvc --log-format json serve`) or after it: the command's own option
    # defaults to SUPPRESS, so that it never overwrites the one given before the command.
    parser.add_argument("--log-format", choices=FORMATS, default=default,
                        help=f"log lines as text or as JSON objects (default: ${ENV_VARIABLE} or {DEFAULT_FORMAT})")


def chosen_log_format(args: argparse.Namespace) -> str:
    """--log-format, else $FEEDSVC_LOG_FORMAT, else text; UsageError for an unknown one in the variable."""
    value = getattr(args, "log_format", None) or os.environ.get(ENV_VARIABLE) or DEFAULT_FORMAT
    if value not in FORMATS:
        raise UsageError(f"${ENV_VARIABLE}: {value!r} is not a log format (choose from {', '.join(FORMATS)})")
    return value


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def replica_name(text: str) -> str:
    from feedsvc.config.models import REPLICA_ID_RE

    if not REPLICA_ID_RE.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a replica id (1-64 of A-Z, a-z, 0-9, '.', '_', ':', '@', '-', starting with a letter or digit)")
    return text


def slug(text: str) -> str:
    if not SLUG_RE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL-safe name (a-z, 0-9, - and _)")
    return text


# Each command's module is imported when that command runs: `check` and `schema` never load aiohttp,
# the fetcher or the store.


def cmd_check(args: argparse.Namespace) -> int:
    from feedsvc.commands import check

    return check.run(args.config)


def cmd_schema(args: argparse.Namespace) -> int:
    from feedsvc.commands import schema

    return schema.run()


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # before importing the app: a bad config answers the same everywhere
    from feedsvc.commands import serve

    with logging_configured(chosen_log_format(args)):
        return serve.run(config, host=args.host, port=args.port, replica_id=args.replica_id)


def cmd_refresh(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from feedsvc.commands import refresh

    return refresh.run(config, args.target, force=args.force, log_format=chosen_log_format(args))


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from feedsvc.commands import status

    return status.run(config)


def cmd_migrate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from feedsvc.commands import migrate

    return migrate.run(config)


def cmd_copy_store(args: argparse.Namespace) -> int:
    from feedsvc.commands import copy_store

    return copy_store.run(args.source, args.destination, force=args.force)


def cmd_demo(args: argparse.Namespace) -> int:
    from feedsvc.commands import demo

    # demo reads the config itself: it swaps the store and the site's address for local ones.
    with logging_configured(chosen_log_format(args)):
        return demo.run(args.config, args.seeds, args.port)


def cmd_preview(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from feedsvc.commands import preview

    return preview.run(config, args.target, seeds=args.seeds)


def cmd_discover(args: argparse.Namespace) -> int:
    from feedsvc.commands import discover

    # A site is discovered before it is configured: a config is used when there is one, not required.
    config = load_config(args.config) if args.config or config_path().exists() else None
    return discover.run(args.url, seeds=args.seeds, name=args.name,
                        fetch_settings=config.fetch.plain() if config else None,
                        timezone=config.defaults.timezone if config else None)
