"""The server's ceiling (plain text) and the shell page, under uvicorn and granian.

    python -m bench.shell [--seconds 8] [--workers 1]

Prints requests/s and p50/p99 for /ping (no database, no template) and for the feed shell,
with the ratio page/ceiling from the same run, for each server; then the shell's
transferred size on a first visit.
"""

from __future__ import annotations

import argparse
import re

import httpx

from bench.harness import HEADER, RelayServer, load

BROWSER = {"Accept": "text/html", "Accept-Encoding": "gzip", "Accept-Language": "fr-FR,fr;q=0.9"}


def transferred_size(base: str, cookie: str) -> tuple[int, int, dict[str, int]]:
    """Bytes on the wire for a first visit: the page, then every asset it references."""
    sizes: dict[str, int] = {}
    with httpx.Client(base_url=base, headers={**BROWSER, "Cookie": cookie}) as client:
        page = client.get("/")
        sizes["/ (html)"] = page.num_bytes_downloaded
        urls = re.findall(r'(?:href|src)="(/static/[^"]+|/manifest\.webmanifest)"', page.text)
        for url in dict.fromkeys(urls):
            sizes[url] = client.get(url).num_bytes_downloaded
        raw = sum(
            len(client.get(u, headers={"Accept-Encoding": "identity"}).content)
            for u in ["/", *dict.fromkeys(urls)]
        )
    return sum(sizes.values()), raw, sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    print(
        f"Shell benchmark: {args.workers} worker(s), {args.connections} connections, "
        f"{args.seconds}s per figure, wrk over loopback\n"
    )
    print(HEADER)
    for server in ["uvicorn", "granian"]:
        with RelayServer(server=server, workers=args.workers) as relay:
            ceiling = load(
                f"{server}: GET /ping (ceiling)",
                f"{relay.url}/ping",
                seconds=args.seconds,
                connections=args.connections,
            )
            cookie = relay.session_cookie()
            page = load(
                f"{server}: GET / (signed-in shell, gzip)",
                f"{relay.url}/",
                seconds=args.seconds,
                connections=args.connections,
                headers={**BROWSER, "Cookie": cookie},
            )
            print(ceiling.row())
            print(page.row(ceiling))
            if server == "granian":
                total, raw, sizes = transferred_size(relay.url, cookie)
    print(f"\nShell first visit: {total:,} bytes transferred ({raw:,} uncompressed)")
    for url, size in sizes.items():
        print(f"  {size:>8,}  {url}")


if __name__ == "__main__":
    main()
