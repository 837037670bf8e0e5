"""Debian's Chromium as the tests and scripts start it (no browser download: the registries are all we reach)."""

CHROMIUM = "/usr/bin/chromium"

#: Without the background-networking flags Chromium keeps trying hosts it cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
