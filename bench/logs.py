"""What a log line costs: µs to format and write one access-log record and one refresh record, as
`--log-format text` and `json` write them, beside the plain `logging.Formatter` line feedsvc wrote
before (the reference: logging.basicConfig's, without the control-character escaping).

    python bench/logs.py [--records 20000] [--rounds 5]

The records are the ones the service makes: an access line as feedsvc.web.access_log.AccessLog hands
it to logging, and a refresh line with its fields (feedsvc.refresh.log_refresh). Written to /dev/null
through the same handler class `feedsvc serve` uses. Medians of the rounds; a shared machine is noisy.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from feedsvc.logs import TEXT_LINE, JsonFormatter, LogHandler, TextFormatter
from feedsvc.model import RefreshReport
from feedsvc.refresh import refresh_fields
from feedsvc.web.access_log import ACCESS_LINE, fields

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def access_record() -> logging.LogRecord:
    """The compact access line with its fields, as AccessLog hands it to logging (its logging path)."""
    args = ("127.0.0.1", "GET", "/cxnews/cixi.rss", 1, 1, 200, 33270, 0.4, USER_AGENT)
    record = logging.LogRecord("aiohttp.access", logging.INFO, "(access log)", 0, ACCESS_LINE, args, None)
    record.__dict__.update(fields("127.0.0.1", "GET", "/cxnews/cixi.rss", (1, 1), 200, 33270, "-", USER_AGENT,
                                  0.0004))
    return record


def refresh_record() -> logging.LogRecord:
    start = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    report = RefreshReport("cxnews", "cixi", start, start + timedelta(seconds=0.4), True, links_found=20,
                           articles_fetched=5, inserted=5, requests=7, bytes_read=120_000)
    fields = refresh_fields(report, start + timedelta(minutes=15), 0)
    record = logging.LogRecord("feedsvc.refresh", logging.INFO, __file__, 1, "%s",
                               ("cxnews/cixi: ok, 5 new, 0 updated, 20 links; articles 5 fetched, 0 failed; "
                                "7 requests, 117 KB, 0.4s; next due 2026-11-30T07:15:00+00:00",), None)
    record.__dict__.update(fields)
    return record


def per_record_us(formatter: logging.Formatter, record: logging.LogRecord, n: int, rounds: int) -> float:
    with open(os.devnull, "w", encoding="utf-8") as sink:
        handler = LogHandler(sink)
        handler.setFormatter(formatter)
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(n):
                handler.handle(record)
            times.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    formatters = {"reference (basicConfig)": logging.Formatter(TEXT_LINE), "text": TextFormatter(),
                  "json": JsonFormatter()}
    print(f"{'format':<24} {'access µs':>10} {'refresh µs':>11}")
    for name, formatter in formatters.items():
        access = per_record_us(formatter, access_record(), args.records, args.rounds)
        refresh = per_record_us(formatter, refresh_record(), args.records // 10, args.rounds)
        print(f"{name:<24} {access:>10.2f} {refresh:>11.2f}")


if __name__ == "__main__":
    main()
