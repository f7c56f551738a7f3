"""The HTML report of `labelsieve audit` rendered in headless Chromium: it opens, shows the heatmap and issues.

Skipped only when no Chromium/Chrome binary is installed (CI installs ``chromium``).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import labelsieve.cli

PACKAGE_ROOT = Path(labelsieve.cli.__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)
TOP = 15

pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason=f"no headless browser found on PATH (looked for {', '.join(BROWSERS)}); install chromium",
)


class _ReportDom(HTMLParser):
    """Counts what the browser rendered: heatmap cells, issue-table body rows, images, scripts, links."""

    def __init__(self) -> None:
        super().__init__()
        self.svg_ids: list[str] = []
        self.heatmap_cells = 0
        self.issue_rows = 0
        self.issue_images = 0
        self.external: list[str] = []
        self._in_svg = self._in_issues = self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svg_ids.append(a.get("id") or "")
            self._in_svg = a.get("id") == "noise-matrix"
        elif tag == "rect" and self._in_svg and "cell" in (a.get("class") or ""):
            self.heatmap_cells += 1
        elif tag == "table" and a.get("id") == "issues":
            self._in_issues = True
        elif tag == "tbody" and self._in_issues:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.issue_rows += 1
        elif tag == "img" and self._in_body:
            self.issue_images += 1
        if tag in ("script", "link", "iframe") or (
            tag == "img" and not (a.get("src") or "").startswith("data:")
        ):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_svg = False
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._in_issues = False


def _browser(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    command = [BROWSER, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def _audit(tmp: Path, *args: str) -> Path:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*filter(None, [env.get("PYTHONPATH")]), str(PACKAGE_ROOT)])
    report = tmp / "report.html"
    command = [
        sys.executable,
        "-m",
        "labelsieve",
        "audit",
        *args,
        "--report",
        str(report),
        "--top",
        str(TOP),
        "-q",
    ]
    result = subprocess.run(
        command, cwd=tmp, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return report


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    return _audit(tmp, "--demo", "--output", str(tmp / "issues.csv"))


def test_report_dom_has_heatmap_and_issue_table(demo_report: Path, tmp_path: Path) -> None:
    result = _browser("--dump-dom", demo_report.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr
    dom = _ReportDom()
    dom.feed(result.stdout)
    assert "noise-matrix" in dom.svg_ids
    assert dom.heatmap_cells == 10 * 10
    assert dom.issue_rows == TOP
    assert dom.issue_images == TOP
    assert dom.external == [], "the report must be self-contained"
    assert "Health score" in result.stdout and "Precision" in result.stdout


def test_report_screenshot(demo_report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = _browser(
        "--hide-scrollbars", "--window-size=1280,2200", f"--screenshot={shot}", demo_report.as_uri(),
        profile=tmp_path / "profile",
    )  # fmt: skip
    assert result.returncode == 0 and shot.exists(), result.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2200)
    # A blank page compresses to a few KB; the rendered report has text, colours and images.
    assert len(data) > 50_000


def test_tabular_report_shows_feature_values(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 150)
    table = pd.DataFrame(
        {"length": labels * 3.0 + rng.normal(size=150), "shade": rng.choice(["light", "dark"], 150)}
    )
    table["kind"] = np.array(["ant", "bee", "wasp"])[
        np.where(rng.random(150) < 0.15, (labels + 1) % 3, labels)
    ]
    table.to_csv(tmp_path / "insects.csv", index=False)
    report = _audit(tmp_path, "insects.csv", "--label-column", "kind", "--folds", "3")
    result = _browser("--dump-dom", report.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr
    dom = _ReportDom()
    dom.feed(result.stdout)
    assert dom.heatmap_cells == 3 * 3
    assert 0 < dom.issue_rows <= TOP
    assert '<th class="num">length</th>' in result.stdout and "<th>shade</th>" in result.stdout
    assert "wasp" in result.stdout
