"""Screenshots of every tab of a running app, in headless Chromium: `python scripts/screenshots.py URL [DIR]`.

Each tab is put in a realistic state first (a question asked, a fit run, a document opened, a quiz question
answered, the eval report shown), then captured at 1366x900 into DIR (default docs/screenshots/<tab>.png).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


FIT = (
    "我们是一款面向大学生的笔记 App，免费增值，靠高级会员订阅赚钱，"
    "团队以工程师为主，主要通过应用商店和自发传播获客。"
)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(600)


def shoot(url: str, out: Path, lang: str = "zh") -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium") or shutil.which("chromium-browser"),
            headless=True,
            args=ARGS,
        )
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(url, wait_until="load")
        page.wait_for_selector("#chatbot", timeout=60_000)
        if lang == "en":
            page.get_by_label("English").check()
            page.wait_for_timeout(500)

        page.get_by_text("小红书为什么属于社区驱动模式", exact=False).first.click()  # an example chip
        page.wait_for_selector("[data-testid=source-card][id^=src-1-]", timeout=90_000)
        page.locator("#src-1-1 summary").click()  # "open the full document"
        page.wait_for_timeout(800)
        written.append(_save(page, out / "chat.png"))

        open_tab(page, "模式匹配 Model fit")
        page.locator("#fit-description textarea").fill(FIT)
        page.locator("#fit-analyse").click()
        page.wait_for_selector("#fit-headline h3", timeout=120_000)
        page.wait_for_timeout(1500)
        written.append(_save(page, out / "fit.png"))

        open_tab(page, "知识库 Knowledge")
        page.wait_for_selector("#kb-table table", timeout=60_000)
        page.locator("#kb-open input").click()
        page.get_by_role("option", name="价值循环").first.click()
        page.wait_for_selector("#kb-reader h2", timeout=30_000)
        page.mouse.wheel(0, 260)
        page.wait_for_timeout(800)
        written.append(_save(page, out / "knowledge.png"))

        open_tab(page, "新人培训 Onboarding")
        page.wait_for_selector("#quiz-options label", timeout=60_000)
        page.locator("#quiz-options label").nth(1).click()
        page.locator("#quiz-submit").click()
        page.wait_for_selector("#quiz-feedback .quiz-feedback", timeout=30_000)
        page.wait_for_timeout(800)
        written.append(_save(page, out / "onboarding.png"))

        open_tab(page, "评测 Eval")
        page.wait_for_selector("#eval-summary", timeout=30_000)
        page.wait_for_timeout(1500)
        if "最新报告" not in page.locator("#eval-summary").inner_text():
            page.locator("#eval-rerun").click()
            page.wait_for_function(
                "() => document.querySelector('#eval-summary').innerText.includes('最新报告')",
                timeout=300_000,
            )
        page.wait_for_selector("#eval-plots img", timeout=30_000)
        page.wait_for_timeout(1500)
        written.append(_save(page, out / "eval.png"))
        browser.close()
    return written


def _save(page, path: Path, budget_kb: int = 250) -> Path:
    """Screenshot; a big PNG is reduced to a 256-colour palette (UI colours survive, the file stays small)."""
    page.screenshot(path=str(path), full_page=False)
    if path.stat().st_size > budget_kb * 1024:
        from PIL import Image

        with Image.open(path) as image:
            reduced = image.convert("RGB").quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        reduced.save(path, optimize=True)
    return path


if __name__ == "__main__":
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "docs" / "screenshots"
    for p in shoot(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7860/", target):
        print(p, p.stat().st_size // 1024, "KB")
