"""Config room: YAML → Config, and every error form named by file, line and YAML path."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from feedsvc import model
from feedsvc.config import (
    Config,
    FetchConfig,
    Rules,
    config_json_schema,
    format_duration,
    load_config,
    parse_duration,
)
from feedsvc.errors import ConfigError, NotFound

FULL = """\
server:   {host: 0.0.0.0, port: 9090, public_url: "https://feeds.example.org/"}
store:    {url: "sqlite:///var/feedsvc.db", max_entries: 50, max_age_days: 14}
fetch:    {user_agent: "feedsvc-test", min_delay: 2s, retries: 1}
defaults: {refresh: 15m, timezone: Asia/Shanghai, language: zh-CN, max_new: 20}
sites:
  cxnews:
    title: 慈溪新闻网
    home: https://www.cxnews.cn/
    refresh: 30m
    allowed_hosts: [cxnews.cn, img.cxnews.cn]
    rules:
      links: "ul.list a"
      title: "h1"
      remove: [".share"]
    sections:
      cixi:
        title: 慈溪新闻
        url: "https://www.cxnews.cn/cx/"
        refresh: 10m
        max_entries: 20
        rules:
          title: "h2.headline"
          link_pattern: "/content/\\\\d+"
          remove: [".ad"]
      toutiao: {title: 头条, nav: 头条新闻}
  yuyao:
    title: 余姚新闻网
    home: http://www.yynews.com.cn/
    timezone: UTC
    language: zh
    robots: false
    sections:
      local: {title: 本地, url: "http://www.yynews.com.cn/local/"}
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The loader reads these; a developer's own settings must not leak into the tests.
    monkeypatch.delenv("FEEDSVC_CONFIG", raising=False)
    monkeypatch.delenv("FEEDSVC_STORE_URL", raising=False)
    monkeypatch.chdir(tmp_path)


def write(text: str, name: str = "config.yaml") -> Path:
    path = Path(name)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(text: str) -> list[str]:
    """Every issue line load_config reports for `text` saved as ./config.yaml."""
    write(text)
    with pytest.raises(ConfigError) as caught:
        load_config("config.yaml")
    assert str(caught.value) == "\n".join(str(i) for i in caught.value.issues)
    return [str(issue) for issue in caught.value.issues]


SITE = """\
sites:
  cxnews:
    title: 慈溪新闻网
    home: https://www.cxnews.cn/
    sections:
"""


# --- a valid config ---------------------------------------------------------------------------


def test_full_config_loads_with_every_value() -> None:
    config = load_config(write(FULL))
    assert config.server.base_url == "https://feeds.example.org"
    assert config.store.url == "sqlite:///var/feedsvc.db"
    assert config.fetch.min_delay == timedelta(seconds=2)
    assert config.fetch.connect_timeout == timedelta(seconds=10)  # default kept
    assert list(config.sites) == ["cxnews", "yuyao"]
    cixi = config.sites["cxnews"].sections["cixi"]
    assert cixi.refresh == timedelta(minutes=10)
    assert cixi.rules is not None and cixi.rules.link_pattern == r"/content/\d+"
    assert config.sites["cxnews"].allowed_hosts == ("cxnews.cn", "img.cxnews.cn")
    assert config.sites["yuyao"].robots is False
    assert config.source_file == str(Path("config.yaml").resolve())


def test_round_trip_through_yaml_keeps_the_config(tmp_path: Path) -> None:
    first = load_config(write(FULL))
    dumped = first.model_dump(mode="json")
    assert dumped["defaults"]["refresh"] == "15m"  # durations are written the way operators write them
    assert "source_file" not in dumped
    again = load_config(write(yaml.safe_dump(dumped, allow_unicode=True), "again.yaml"))
    assert again.model_dump() == first.model_dump()
    assert again.source_file.endswith("again.yaml")


def test_minimal_config_gets_defaults() -> None:
    config = load_config(write(SITE + "      cixi: {title: 慈溪新闻, url: 'https://www.cxnews.cn/cx/'}\n"))
    assert config.server.base_url == "http://127.0.0.1:8080"
    assert config.store.url == "sqlite:///feedsvc.db"
    (ref,) = config.section_refs()
    assert (ref.key, ref.refresh, ref.timezone, ref.language) == (
        "cxnews/cixi", timedelta(minutes=15), "Asia/Shanghai", "zh-CN")
    assert (ref.max_new, ref.max_entries, ref.max_age_days) == (30, 100, 30)


def test_config_without_sites_is_valid() -> None:
    assert load_config(write("server: {port: 8081}\n")).sites == {}


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1.5h", 5400), (" 5 m ", 300), (90, 90), (0.5, 0.5)],
)
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["10x", "15", "m", "-5m", "", "1h30m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0.5, 30, 90, 900, 7200, 86400, 3 * 86400 + 1])
def test_format_duration_reads_back(seconds: float) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)
    assert format_duration(timedelta(minutes=15)) == "15m"


# --- section_refs: section over site over defaults -----------------------------------------------


def test_section_refs_merge_section_site_and_defaults() -> None:
    config = load_config(write(FULL))
    refs = {ref.key: ref for ref in config.section_refs()}
    assert list(refs) == ["cxnews/cixi", "cxnews/toutiao", "yuyao/local"]

    cixi = refs["cxnews/cixi"]
    assert cixi.url == "https://www.cxnews.cn/cx/"
    assert cixi.refresh == timedelta(minutes=10)  # section
    assert cixi.max_entries == 20  # section over store
    assert cixi.max_age_days == 14  # store
    assert cixi.max_new == 20  # defaults
    assert cixi.rules.title == "h2.headline"  # section rule wins
    assert cixi.rules.links == "ul.list a"  # site rule kept
    assert cixi.rules.link_pattern == r"/content/\d+"
    assert cixi.rules.remove == (".share", ".ad")  # remove lists add up

    toutiao = refs["cxnews/toutiao"]
    assert toutiao.url is None and toutiao.section.nav == "头条新闻"
    assert toutiao.refresh == timedelta(minutes=30)  # site
    assert toutiao.rules.title == "h1" and toutiao.rules.remove == (".share",)

    local = refs["yuyao/local"]
    assert local.refresh == timedelta(minutes=15)  # defaults
    assert (local.timezone, local.language) == ("UTC", "zh")  # site over defaults
    assert local.rules.links is None
    assert config.section_ref("cxnews", "cixi") == cixi


# --- plain data handed down to extract/ and fetch/ ------------------------------------------------


def test_section_rules_are_the_plain_record_extract_reads() -> None:
    config = load_config(write(FULL))
    (cixi, *_) = config.section_refs()
    assert type(cixi.rules) is model.Rules
    assert cixi.rules == model.Rules(links="ul.list a", link_pattern=r"/content/\d+", title="h2.headline",
                                     remove=(".share", ".ad"))


def test_fetch_settings_are_the_plain_record_fetch_reads() -> None:
    config = load_config(write(FULL))
    settings = config.fetch.plain()
    assert type(settings) is model.FetchSettings
    assert (settings.user_agent, settings.min_delay, settings.retries) == ("feedsvc-test", timedelta(seconds=2), 1)
    assert settings.connect_timeout == timedelta(seconds=10)


@pytest.mark.parametrize(("shape", "record"), [(FetchConfig, model.FetchSettings), (Rules, model.Rules)])
def test_plain_records_have_the_config_models_fields_and_defaults(shape: type, record: type) -> None:
    # One default, written once: a key added to the config must reach the room that reads it.
    assert list(shape.model_fields) == [f.name for f in dataclasses.fields(record)]
    assert shape().plain() == record()


# --- looking sections up by name: one NotFound text for the CLI and the web room ------------------


def test_lookup_picks_a_site_or_one_section() -> None:
    config = load_config(write(FULL))
    assert [ref.key for ref in config.lookup("cxnews")] == ["cxnews/cixi", "cxnews/toutiao"]
    assert config.lookup("cxnews", "toutiao") == [config.section_ref("cxnews", "toutiao")]


def test_lookup_of_unknown_names_says_what_exists() -> None:
    config = load_config(write(FULL))
    with pytest.raises(NotFound) as site:
        config.lookup("nosuch", "cixi")
    assert str(site.value) == "unknown site 'nosuch'; sites: cxnews, yuyao"
    with pytest.raises(NotFound) as section:
        config.lookup("cxnews", "nosuch")
    assert str(section.value) == "unknown section 'nosuch' of site 'cxnews'; sections: cixi, toutiao"
    with pytest.raises(NotFound, match=r"^unknown site 'x'; sites: \(none\)$"):
        Config().lookup("x")


# --- every error form: file, line, YAML path, what is expected -------------------------------------


def test_bad_duration_example_from_the_issue() -> None:
    # The exact line the issue quotes: the issue's own shape, with the refresh on line 14.
    text = """\
    server:   {host: 127.0.0.1, port: 8080, public_url: "http://127.0.0.1:8080"}
    store:    {url: "sqlite:///feedsvc.db", max_entries: 100, max_age_days: 30}
    defaults: {refresh: 15m, timezone: Asia/Shanghai, language: zh-CN}
    sites:
      cxnews:
        title: 慈溪新闻网
        home: https://www.cxnews.cn/
        rules:
          links: "ul.list a"
        sections:
          cixi:
            title: 慈溪新闻
            url: "https://www.cxnews.cn/cx/"
            refresh: 10x
    """
    assert problems(text) == [
        "config.yaml:14: sites.cxnews.sections.cixi.refresh: '10x' is not a duration (use 30s, 15m, 2h)"
    ]


def test_unknown_key_suggests_the_close_one() -> None:
    assert problems(SITE + "      cixi:\n        title: 慈溪\n        nav: 慈溪\n        refesh: 10m\n") == [
        "config.yaml:9: sites.cxnews.sections.cixi: 'refesh' is not a known key (did you mean 'refresh'?); "
        "known keys: title, url, nav, description, refresh, section_deadline, max_new, max_entries, max_age_days, rules"
    ]


def test_unknown_key_without_a_close_one_lists_the_known_keys() -> None:
    assert problems("server:\n  colour: red\n") == [
        "config.yaml:2: server: 'colour' is not a known key; known keys: host, port, public_url, idle_timeout, max_connections, feed_cache_bytes, websub_hub, admin_token"
    ]


def test_unknown_top_level_key() -> None:
    assert problems("site:\n  cxnews: {}\n") == [
        "config.yaml:1: 'site' is not a known key (did you mean 'sites'?); "
        "known keys: server, store, cluster, fetch, defaults, sites"
    ]


def test_source_file_cannot_be_set_from_yaml() -> None:
    assert problems("source_file: /etc/passwd\n") == [
        "config.yaml:1: 'source_file' is not a known key; known keys: server, store, cluster, fetch, defaults, sites"
    ]


def test_wrong_type() -> None:
    assert problems("server:\n  host: 127.0.0.1\n  port: eighty\n") == [
        "config.yaml:3: server.port: expected a whole number, got 'eighty'"
    ]


def test_mapping_expected() -> None:
    assert problems("store: sqlite:///x.db\n") == [
        "config.yaml:1: store: expected a mapping (key: value lines), got 'sqlite:///x.db'"
    ]


def test_list_item_of_wrong_type_names_its_index() -> None:
    text = SITE.replace("    sections:\n", "    allowed_hosts:\n      - cxnews.cn\n      - {a: 1}\n    sections:\n")
    text += "      cixi: {title: 慈溪, nav: 慈溪}\n"
    assert problems(text) == ["config.yaml:7: sites.cxnews.allowed_hosts[1]: expected text, got a mapping"]


def test_number_out_of_range() -> None:
    assert problems("store:\n  max_entries: 0\n") == ["config.yaml:2: store.max_entries: must be at least 1, got 0"]


def test_missing_required_key_names_the_parent_line() -> None:
    assert problems(SITE + "      cixi:\n        url: https://www.cxnews.cn/cx/\n") == [
        "config.yaml:6: sites.cxnews.sections.cixi: missing required key 'title'"
    ]


def test_empty_value_for_required_text() -> None:
    assert problems(SITE + "      cixi:\n        title:\n        nav: 慈溪\n") == [
        "config.yaml:7: sites.cxnews.sections.cixi.title: expected text, got an empty value"
    ]


def test_bad_time_zone() -> None:
    assert problems("defaults:\n  timezone: Asia/Shanghia\n") == [
        "config.yaml:2: defaults.timezone: 'Asia/Shanghia' is not an IANA time zone (e.g. Asia/Shanghai, UTC)"
    ]


def test_bad_regex() -> None:
    text = SITE + "      cixi:\n        title: 慈溪\n        nav: 慈溪\n        rules: {link_pattern: '/content/(\\d+'}\n"
    assert problems(text) == [
        "config.yaml:9: sites.cxnews.sections.cixi.rules.link_pattern: '/content/(\\\\d+' is not a valid "
        "regular expression: missing ), unterminated subpattern at position 9"
    ]


def test_bad_css_selector_names_the_rule_and_line() -> None:
    text = (SITE + "      cixi:\n        title: 慈溪\n        nav: 慈溪\n"
            "        rules:\n          body: 'div#Zoom >'\n          remove: ['.share', 'p[class=']\n")
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("config.yaml:10: sites.cxnews.sections.cixi.rules.body: 'div#Zoom >' is not a valid CSS selector")
    assert found[1].startswith("config.yaml:11: sites.cxnews.sections.cixi.rules.remove[1]: 'p[class=' is not a valid CSS selector")


@pytest.mark.parametrize("url", ["ftp://www.cxnews.cn/", "www.cxnews.cn/cx/", "http:///cx/", "http://a b/"])
def test_bad_url(url: str) -> None:
    assert problems(SITE + f"      cixi: {{title: 慈溪, url: '{url}'}}\n") == [
        f"config.yaml:6: sites.cxnews.sections.cixi.url: {url!r} is not an http(s) URL (e.g. https://www.cxnews.cn/)"
    ]


def test_bad_store_url() -> None:
    assert problems("store: {url: 'mysql://db/feeds'}\n") == [
        "config.yaml:1: store.url: 'mysql://db/feeds' is not a store URL (use sqlite:///path/to/feedsvc.db or "
        "postgresql://user@host:5432/dbname)"
    ]


def test_section_name_must_be_a_slug() -> None:
    assert problems(SITE + "      cixi: {title: a, nav: a}\n      Cixi News: {title: b, nav: b}\n") == [
        "config.yaml:7: sites.cxnews.sections.Cixi News: 'Cixi News' is not a URL-safe name "
        "(use lower-case a-z, 0-9, - and _, starting with a letter or digit)"
    ]


def test_site_name_must_be_a_slug() -> None:
    assert problems(SITE.replace("  cxnews:", "  cx.news:") + "      cixi: {title: a, nav: a}\n") == [
        "config.yaml:2: sites.cx.news: 'cx.news' is not a URL-safe name "
        "(use lower-case a-z, 0-9, - and _, starting with a letter or digit)"
    ]


def test_numeric_site_name_must_be_quoted() -> None:
    assert problems(SITE.replace("  cxnews:", "  2024:") + "      cixi: {title: a, nav: a}\n") == [
        "config.yaml:2: sites.2024: 2024 is not a valid name: names are text (put it in quotes)"
    ]


def test_section_needs_url_or_nav() -> None:
    assert problems(SITE + "      cixi:\n        title: 慈溪新闻\n") == [
        "config.yaml:6: sites.cxnews.sections.cixi: a section needs `url` or `nav` "
        "(its navigation label on the home page)"
    ]


def test_duplicate_keys_are_reported() -> None:
    text = SITE + "      cixi:\n        title: 慈溪\n        nav: 慈溪\n        title: 慈溪新闻\n"
    assert problems(text) == [
        "config.yaml:9: sites.cxnews.sections.cixi.title: duplicate key 'title' "
        "(already set at line 7; YAML would silently keep only the last one)"
    ]


def test_duplicate_sections_are_reported() -> None:
    text = SITE + "      cixi: {title: a, nav: a}\n      cixi: {title: b, nav: b}\n"
    assert problems(text) == [
        "config.yaml:7: sites.cxnews.sections.cixi: duplicate key 'cixi' "
        "(already set at line 6; YAML would silently keep only the last one)"
    ]


def test_merge_keys_are_not_duplicates() -> None:
    text = SITE + (
        "      cixi: &common {title: a, url: 'https://www.cxnews.cn/a/', refresh: 5m}\n"
        "      other:\n        <<: *common\n        title: b\n"
    )
    config = load_config(write(text))
    other = config.sites["cxnews"].sections["other"]
    assert (other.title, other.refresh) == ("b", timedelta(minutes=5))


def test_yaml_syntax_error_names_its_line() -> None:
    assert problems("sites:\n  cxnews:\n    title: a\n   home: b\n") == [
        "config.yaml:4: YAML syntax error: expected <block end>, but found '<block mapping start>' "
        "(while parsing a block mapping at line 2); check the indentation"
    ]


def test_unquoted_colon_in_a_value_gets_a_hint() -> None:
    assert problems("server:\n  host: a: b\n") == [
        "config.yaml:2: YAML syntax error: mapping values are not allowed here; "
        "check the indentation, or quote a value that contains ': '"
    ]


def test_several_documents_are_refused() -> None:
    assert problems("server: {port: 8080}\n---\nsites: {}\n") == [
        "config.yaml:2: YAML syntax error: expected a single document in the stream, but found another document"
    ]


def test_yaml_boolean_word_as_a_name_is_shown_as_written() -> None:
    # YAML 1.1 reads `on:` as true; the message must still say `on`, where it is, and how to fix it.
    assert problems(SITE + "      on: {title: a, nav: b}\n") == [
        "config.yaml:6: sites.cxnews.sections.on: true is not a valid name: names are text (put it in quotes)"
    ]


def test_tab_indentation_is_a_syntax_error() -> None:
    assert problems("server:\n\tport: 8080\n") == [
        "config.yaml:2: YAML syntax error: found character '\\t' that cannot start any token"
    ]


def test_unclosed_quote() -> None:
    (line,) = problems("server:\n  host: \"127.0.0.1\n  port: 80\n")
    assert line.startswith("config.yaml:4: YAML syntax error: found unexpected end of stream")


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("nope.yaml")
    assert str(caught.value) == f"nope.yaml: file not found (looked for {Path('nope.yaml').resolve()})"


def test_directory_instead_of_file() -> None:
    Path("conf.d").mkdir()
    with pytest.raises(ConfigError, match=r"^conf\.d: is a directory, not a config file$"):
        load_config("conf.d")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(text: str) -> None:
    assert problems(text) == [
        "config.yaml: the file is empty (expected a mapping with server, store, defaults, sites)"
    ]


def test_top_level_must_be_a_mapping() -> None:
    assert problems("- server\n- sites\n") == [
        "config.yaml:1: expected a mapping with server, store, cluster, fetch, defaults, sites; got a list"
    ]


def test_not_utf8() -> None:
    Path("config.yaml").write_bytes("server:\n  host: 慈溪\n".encode("gbk"))
    with pytest.raises(ConfigError) as caught:
        load_config("config.yaml")
    assert str(caught.value) == "config.yaml:2: is not UTF-8 text (save the file as UTF-8)"


def test_utf8_bom_is_accepted() -> None:
    Path("config.yaml").write_bytes("\ufeffsites: {}\n".encode())
    assert load_config("config.yaml").sites == {}


def test_all_problems_are_listed_sorted_by_line() -> None:
    text = """\
    defaults:
      timezone: Nowhere/City
    sites:
      cxnews:
        title: 慈溪新闻网
        home: www.cxnews.cn
        sections:
          cixi:
            title: 慈溪
            refresh: soon
            rules: {max_pages: 0}
          x:
            nav: y
    server:
      port: 70000
    """
    assert problems(text) == [
        "config.yaml:2: defaults.timezone: 'Nowhere/City' is not an IANA time zone (e.g. Asia/Shanghai, UTC)",
        "config.yaml:6: sites.cxnews.home: 'www.cxnews.cn' is not an http(s) URL (e.g. https://www.cxnews.cn/)",
        "config.yaml:10: sites.cxnews.sections.cixi.refresh: 'soon' is not a duration (use 30s, 15m, 2h)",
        "config.yaml:11: sites.cxnews.sections.cixi.rules.max_pages: must be at least 1, got 0",
        "config.yaml:12: sites.cxnews.sections.x: missing required key 'title'",
        "config.yaml:15: server.port: must be at most 65535, got 70000",
    ]


# --- where the config comes from ---------------------------------------------------------------------


def test_default_path_is_config_yaml_in_the_working_directory() -> None:
    write("server: {port: 8123}\n")
    assert load_config().server.port == 8123


def test_feedsvc_config_env_names_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write("server: {port: 8123}\n")
    write("server: {port: 8124}\n", "other.yaml")
    monkeypatch.setenv("FEEDSVC_CONFIG", "other.yaml")
    assert load_config().server.port == 8124
    assert load_config("config.yaml").server.port == 8123  # an explicit path beats the env


def test_feedsvc_config_env_errors_name_that_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write("server: {port: x}\n", "other.yaml")
    monkeypatch.setenv("FEEDSVC_CONFIG", "other.yaml")
    with pytest.raises(ConfigError, match=r"^other\.yaml:1: server\.port: expected a whole number, got 'x'$"):
        load_config()


def test_feedsvc_store_url_env_overrides_store_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDSVC_STORE_URL", "sqlite:///tmp/elsewhere.db")
    write("store: {url: 'sqlite:///feedsvc.db', max_entries: 7}\n")
    config = load_config()
    assert (config.store.url, config.store.max_entries) == ("sqlite:///tmp/elsewhere.db", 7)
    write("server: {port: 8123}\n")  # no store section at all
    assert load_config().store.url == "sqlite:///tmp/elsewhere.db"


def test_bad_feedsvc_store_url_says_it_came_from_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDSVC_STORE_URL", "/var/feeds.db")
    assert problems("store:\n  url: sqlite:///feedsvc.db\n") == [
        "config.yaml:2: store.url: '/var/feeds.db' is not a store URL (use sqlite:///path/to/feedsvc.db or "
        "postgresql://user@host:5432/dbname) (from $FEEDSVC_STORE_URL)"
    ]


def test_cluster_settings_are_checked_at_their_line(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems("cluster:\n  replica_id: 'web 1'\n  lease: 1s\n") == [
        "config.yaml:2: cluster.replica_id: 'web 1' is not a replica id (1-64 of A-Z, a-z, 0-9, '.', '_', ':', "
        "'@', '-', starting with a letter or digit)",
        "config.yaml:3: cluster.lease: 1s is not a lease length (use 2s to 10m: shorter, a busy replica could "
        "miss its renewal; longer, a killed one's sites wait as long)",
    ]
    write("cluster:\n  replica_id: web-1\n  lease: 45s\n")
    config = load_config("config.yaml")
    assert (config.cluster.replica_id, config.cluster.lease) == ("web-1", timedelta(seconds=45))
    monkeypatch.setenv("FEEDSVC_REPLICA_ID", "pod-7f9c:1")
    assert load_config("config.yaml").cluster.replica_id == "pod-7f9c:1"
    monkeypatch.setenv("FEEDSVC_REPLICA_ID", "pod\x1b")
    assert problems("cluster:\n  replica_id: web-1\n") == [
        "config.yaml:2: cluster.replica_id: 'pod\\x1b' is not a replica id (1-64 of A-Z, a-z, 0-9, '.', '_', ':', "
        "'@', '-', starting with a letter or digit) (from $FEEDSVC_REPLICA_ID)"
    ]


# --- JSON Schema --------------------------------------------------------------------------------------


def test_schema_is_json_and_describes_sites_sections_and_rules() -> None:
    schema = json.loads(json.dumps(config_json_schema()))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"server", "store", "cluster", "fetch", "defaults", "sites"}  # source_file hidden
    site = schema["$defs"]["Site"]
    assert site["properties"]["sections"]["additionalProperties"] is False
    assert "rules" in schema["$defs"]["Section"]["properties"]
    assert "link_pattern" in schema["$defs"]["Rules"]["properties"]
    assert schema["$defs"]["Defaults"]["properties"]["refresh"]["default"] == "15m"
    assert all(d.get("additionalProperties") is False for name, d in schema["$defs"].items())


def test_schema_hides_source_file_but_config_keeps_it() -> None:
    assert "source_file" not in json.dumps(config_json_schema())
    assert "source_file" in Config.model_fields
