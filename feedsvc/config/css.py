"""Stand-in for `feedsvc.extract.html.compile_selector` until extract/ has its one HTML toolkit: then
config.fields imports that instead (one line) and this module goes, so config accepts exactly the
selectors extraction can run, checked by the same engine."""

from __future__ import annotations

from cssselect import GenericTranslator, SelectorError


def compile_selector(css: str) -> None:
    """Raise ValueError when lxml cannot use `css`."""
    try:
        GenericTranslator().css_to_xpath(css)
    except SelectorError as exc:
        raise ValueError(str(exc)) from None
