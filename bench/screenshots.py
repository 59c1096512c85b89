"""What a person sees: headless Chromium screenshots of a report and of the MLflow UI on its study.

    python bench/screenshots.py --report reports/quick --out /tmp/shots [--ui study=quick workdir=runs]

Writes ``report_top.png`` (the top of ``report.html``: the table of contents and the answer per task),
``report_full.png`` (the whole page, as tall as it is), and with ``--ui`` ``ui_runs.png`` (the page
``benchmark ui`` prints: the study's runs table). Chromium from Debian's ``chromium`` package; the
screenshots are for looking at, and stay out of git.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WIDTH = 1400


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no Chromium found: apt-get install chromium")


def shoot(url: str, out: Path, height: int, wait_ms: int = 3000) -> None:
    """One screenshot of ``url`` in a ``WIDTH`` x ``height`` window, after ``wait_ms`` of virtual time
    (the MLflow UI renders in JavaScript after the page loads)."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    command += [f"--window-size={WIDTH},{height}", f"--virtual-time-budget={wait_ms}"]
    command += [f"--screenshot={out}", url]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    print(f"{out} ({WIDTH} x {height})")


def page_height(html: Path) -> int:
    """A generous height for the whole report: about 22 px per text line, plus each figure's pixels."""
    text = html.read_text()
    lines = text.count("<tr") + text.count("<p") + text.count("<li") + text.count("<h")
    images = len(re.findall(r"<img", text))
    return min(60_000, 400 + 26 * lines + 700 * images)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shoot_ui(overrides: list[str], out: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "benchmark", "ui", *overrides, "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        first = server.stdout.readline() if server.stdout else ""
        found = re.search(r"(http://\S+)", first)
        if not found:
            raise SystemExit(f"benchmark ui printed no address: {first.strip()}")
        url = found.group(1)
        for _ in range(120):  # the server takes a few seconds to start
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        shoot(url, out, 1000, wait_ms=15000)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", type=Path, required=True, help="a report folder (holds report.html)")
    parser.add_argument("--out", type=Path, required=True, help="where the PNGs go")
    parser.add_argument("--ui", nargs="+", metavar="study=NAME", help="also the UI on this study's store")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    html = (args.report / "report.html").resolve()
    shoot(html.as_uri(), args.out / "report_top.png", 1800)
    shoot(html.as_uri(), args.out / "report_full.png", page_height(html))
    if args.ui:
        shoot_ui(args.ui, args.out / "ui_runs.png")


if __name__ == "__main__":
    main()
