"""Pure extraction: HTML and URLs in, links and entries out; no I/O here."""
