"""`feedsvc check` keeps a site's list pages on the site: a section `url:` on a host the site does
not allow is refused, as is a section with both `nav:` and `url:`; `allowed_hosts` takes host or
host:port entries and `*.domain` (that domain's subdomains, never a bare `*` nor a public suffix) and
nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.config import load_config

SITE = """\
sites:
  s:
    title: S
    home: http://www.s.example/
    allowed_hosts: {hosts}
    sections:
      a: {section}
"""


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], hosts: str, section: str) -> tuple[int, list[str]]:
    file = tmp_path / "config.yaml"
    file.write_text(SITE.format(hosts=hosts, section=section), encoding="utf-8")
    code = main(["check", "--config", str(file)])
    return code, [line.replace(str(file), "config.yaml") for line in capsys.readouterr().err.splitlines()]


def test_check_refuses_a_section_url_on_a_host_the_site_does_not_allow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(tmp_path, capsys, "[img.s.example]", '{title: A, url: "http://127.0.0.2:47021/list"}')
    assert code == 2
    assert err[0] == ("feedsvc: error: config.yaml:7: sites.s.sections.a.url: host '127.0.0.2' is not one of the "
                      "site's hosts (www.s.example, img.s.example); add it to the site's allowed_hosts if the "
                      "site really lives there")


def test_check_refuses_a_section_with_both_nav_and_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = check(tmp_path, capsys, "[]", '{title: A, nav: 要闻, url: "http://www.s.example/a/"}')
    assert code == 2
    assert err[0].startswith("feedsvc: error: config.yaml:7: sites.s.sections.a: a section takes `url` or `nav`, not both")


@pytest.mark.parametrize("entry", ["http://s.example/", "s.example/news", "s.example:99999", "s.example:", "a b",
                                   "*.s.example/news", "user@s.example"])
def test_check_refuses_an_allowed_hosts_entry_that_is_not_host_or_host_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    code, err = check(tmp_path, capsys, f'["{entry}"]', '{title: A, url: "http://www.s.example/a/"}')
    assert code == 2
    assert err[0] == (f"feedsvc: error: config.yaml:5: sites.s.allowed_hosts[0]: {entry!r} is not a host, "
                      "host:port or *.domain (e.g. www.example.cn, 127.0.0.1:8080 or *.example.cn; no scheme, no path)")


@pytest.mark.parametrize(("entry", "why"), [
    ("*", "a wildcard is `*.` and a domain (e.g. *.example.com.cn), not a bare `*`"),
    ("*s.example", "a wildcard is `*.` and a domain (e.g. *.example.com.cn), not a bare `*`"),
    ("*.*.s.example", "a wildcard is `*.` and a domain (e.g. *.example.com.cn), not a bare `*`"),
    ("*.com.cn", "com.cn is a public suffix (anyone can register under it), so this would allow every site "
                 "there; name the site's own domain (e.g. *.example.com.cn)"),
    ("*.cn", "cn is a public suffix (anyone can register under it), so this would allow every site there; "
             "name the site's own domain (e.g. *.example.cn)"),
    ("*.127.0.0.1", "a wildcard takes a domain name, not an address"),
])
def test_check_refuses_a_wildcard_that_is_bare_or_a_public_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, why: str
) -> None:
    code, err = check(tmp_path, capsys, f'["{entry}"]', '{title: A, url: "http://www.s.example/a/"}')
    assert code == 2
    assert err[0] == f"feedsvc: error: config.yaml:5: sites.s.allowed_hosts[0]: {entry!r}: {why}"


def test_a_subdomain_wildcard_allows_section_urls_on_subdomains_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(tmp_path, capsys, '["*.s.example"]', '{title: A, url: "http://news.district.s.example/a/"}')
    assert (code, err) == (0, [])
    code, err = check(tmp_path, capsys, '["*.s.example"]', '{title: A, url: "http://www.other.example/a/"}')
    assert code == 2 and "host 'www.other.example' is not one of the site's hosts" in err[0]
    code, err = check(tmp_path, capsys, '["*.s.example"]', '{title: A, url: "http://evil-s.example/a/"}')
    assert code == 2 and "host 'evil-s.example'" in err[0]


def test_host_port_entries_allow_their_host_for_section_urls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = check(tmp_path, capsys, '["127.0.0.1:8080", "[::1]:8081", "新闻.example"]',
                      '{title: A, url: "http://127.0.0.1:8080/list/"}')
    assert (code, err) == (0, [])
    site = load_config(tmp_path / "config.yaml").sites["s"]
    assert site.hosts() == {"www.s.example", "127.0.0.1", "::1", "新闻.example"}
