"""The `feedsvc` command: argument parsing and exit codes; each command's work is in feedsvc.commands.

Exit codes: 0 ok, 1 a feedsvc error (one line on stderr), 2 an unusable config or bad arguments,
130 interrupted. Operators never see a traceback for an error we raised on purpose.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from feedsvc import __version__
from feedsvc.commands import EXIT_CONFIG, EXIT_ERROR, EXIT_INTERRUPTED, print_issues
from feedsvc.config import load_config
from feedsvc.errors import ConfigError, FeedsvcError, one_line
from feedsvc.model import SLUG_RE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on bad arguments (2)
        return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print_issues(exc, sys.stderr)
        return EXIT_CONFIG
    except FeedsvcError as exc:
        print(f"feedsvc: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:
        # Port in use, permission denied, disk full: the operator's to fix, not a bug to trace.
        print(f"feedsvc: error: {exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}",
              file=sys.stderr)
        return EXIT_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedsvc", description="RSS, Atom and JSON feeds for news sites that publish none."
    )
    parser.add_argument("--version", action="version", version=f"feedsvc {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    def config_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", metavar="PATH", help="config file (default: $FEEDSVC_CONFIG or ./config.yaml)")

    sub = command("serve", cmd_serve, "serve the feeds and refresh them on schedule")
    config_option(sub)
    sub.add_argument("--host", help="listen address (overrides server.host)")
    sub.add_argument("--port", type=port_number, help="listen port (overrides server.port)")

    sub = command("check", cmd_check, "validate the config file and print every problem")
    config_option(sub)

    command("schema", cmd_schema, "print the config's JSON Schema (for editor completion and checking)")

    sub = command("refresh", cmd_refresh, "refresh sections once, now, and print a report")
    config_option(sub)
    sub.add_argument("target", nargs="?", help="SITE or SITE/SECTION (default: every section)")

    sub = command("demo", cmd_demo, "run the service offline against the bundled replica of the site")
    config_option(sub)
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
    return parser


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


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

    return serve.run(config, host=args.host, port=args.port)


def cmd_refresh(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from feedsvc.commands import refresh

    return refresh.run(config, args.target)


def cmd_demo(args: argparse.Namespace) -> int:
    from feedsvc.commands import demo

    # demo reads the config itself: it swaps the store and the site's address for local ones.
    return demo.run(args.config, args.seeds, args.port)


def cmd_preview(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from feedsvc.commands import preview

    return preview.run(config, args.target, seeds=args.seeds)


def cmd_discover(args: argparse.Namespace) -> int:
    from feedsvc.commands import discover

    return discover.run(args.url, seeds=args.seeds, name=args.name)
