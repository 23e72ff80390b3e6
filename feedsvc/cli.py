"""The `feedsvc` command: argument parsing and exit codes; the work happens in config and app.

Exit codes: 0 ok, 1 a feedsvc error (one line on stderr), 2 an unusable config or bad arguments,
130 interrupted. Operators never see a traceback for an error we raised on purpose.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from feedsvc import __version__
from feedsvc.config import SLUG_RE, config_json_schema, config_path, load_config
from feedsvc.errors import ConfigError, FeedsvcError, one_line

EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


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


def cmd_check(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        # stderr, like `serve` refusing to start: operators see the same text in both places.
        print_issues(exc, sys.stderr)
        count = len(exc.issues)
        print(f"{path}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return EXIT_CONFIG
    sections = sum(len(site.sections) for site in config.sites.values())
    print(f"{path}: OK — {plural(len(config.sites), 'site')}, {plural(sections, 'section')}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(config_json_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    overrides = {key: value for key in ("host", "port") if (value := getattr(args, key)) is not None}
    if overrides:
        server = config.server
        if server.public_url and server.public_url.rstrip("/") == f"http://{server.host}:{server.port}":
            overrides["public_url"] = None  # it only spelled out the old address: follow the new one
        config = config.model_copy(update={"server": server.model_copy(update=overrides)})
    return app_function("serve")(config)


def cmd_refresh(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # before importing the app: a bad config answers the same everywhere
    return app_function("refresh_command")(config, args.target)


def cmd_demo(args: argparse.Namespace) -> int:
    # demo reads the config itself: it swaps the store and the site's address for local ones.
    return app_function("demo")(args.config, args.seeds, args.port)


def cmd_preview(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    return app_function("preview")(config, args.target, seeds=args.seeds)


def cmd_discover(args: argparse.Namespace) -> int:
    return app_function("discover")(args.url, seeds=args.seeds, name=args.name)


def app_function(name: str) -> Callable[..., Any]:
    """feedsvc.app.<name>, imported only when a command needs it (check and schema stay light)."""
    return getattr(importlib.import_module("feedsvc.app"), name)  # type: ignore[no-any-return]


def print_issues(error: ConfigError, stream: Any) -> None:
    for issue in error.issues:
        print(issue, file=stream)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
