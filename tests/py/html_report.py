"""Opens a cent-run HTML report in a real browser and says what a person sees.

Usage: html_report.py REPORT.html [SCREENSHOT.png]

Debian's Chromium (/usr/bin/chromium), headless, driven by Playwright, with
a fresh profile and every background service off. Every request other than
the report file itself is refused and recorded (the page must fetch
nothing). Prints one JSON object: the exit code and the counts shown, the
rows each status filter leaves visible, the problems with their snippet's
marked line, the timeline's lanes, failovers and marks, the console
messages, the requests refused, and how long the page took to load.
"""

import json
import pathlib
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SEEN = """() => {
  const num = (s) => Number(s.replace(/,/g, ''));
  const text = (el) => el ? el.textContent.trim() : null;
  const summary = {};
  for (const k of ['total', 'ok', 'failed', 'unknown', 'skipped']) {
    summary[k] = num(document.getElementById('n-' + k).textContent);
  }
  const problems = [...document.querySelectorAll('article.problem')].map((a) => ({
    level: a.classList.contains('warning') ? 'warning' : 'error',
    where: text(a.querySelector('.where')),
    message: text(a.querySelector('.message')),
    hit: text(a.querySelector('.snippet .hit')),
    pointer: text(a.querySelector('.snippet .pointer')),
    help: text(a.querySelector('.help')),
    checks: [...a.querySelectorAll('table.checks tbody tr')].map((r) => r.className),
    section: a.closest('section').id,
  }));
  const svg = document.getElementById('timeline');
  const lanes = svg ? [...svg.querySelectorAll('g.lane')].map((g) => ({
    node: g.getAttribute('data-node'),
    commands: Number(g.getAttribute('data-commands')),
    retried: Number(g.getAttribute('data-retried')),
    bars: g.querySelectorAll('g.bucket').length,
  })) : null;
  return {
    title: document.title,
    exit_code: num(document.getElementById('exit-code').textContent),
    exit_meaning: text(document.getElementById('exit-meaning')),
    summary,
    problems,
    timeline: svg ? {
      lanes,
      failovers: [...svg.querySelectorAll('g.failover')].map((g) => g.getAttribute('data-node')),
      marks: [...svg.querySelectorAll('g.mark')].map((g) => ({
        kind: g.classList.contains('wait') ? 'wait' : 'until',
        index: Number(g.getAttribute('data-index')),
        width: g.querySelector('rect').getBBox().width,
      })),
      width: svg.getBoundingClientRect().width,
    } : null,
    left_out: text(document.getElementById('left-out')),
    rows: document.querySelectorAll('#commands tbody tr').length,
    body: document.body.innerText,
  };
}"""

VISIBLE = """() => [...document.querySelectorAll('#commands tbody tr')]
  .filter((r) => r.getClientRects().length > 0)
  .map((r) => Number(r.getAttribute('data-index')))"""


def main():
    report = pathlib.Path(sys.argv[1]).resolve()
    shot = sys.argv[2] if len(sys.argv) > 2 else None
    url = report.as_uri()
    out = {"console": [], "page_errors": [], "requests": [], "refused": []}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path="/usr/bin/chromium",
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            def route(r):
                if r.request.url == url:
                    r.continue_()
                else:
                    out["refused"].append(r.request.url)
                    r.abort()

            ctx.route("**/*", route)
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.on("console", lambda m: out["console"].append({"type": m.type, "text": m.text}))
            page.on("pageerror", lambda e: out["page_errors"].append(str(e)))
            page.on("request", lambda r: out["requests"].append(r.url))
            started = time.monotonic()
            page.goto(url, wait_until="load")
            out["open_ms"] = round((time.monotonic() - started) * 1000)
            out["load_event_ms"] = page.evaluate(
                "() => Math.round(performance.getEntriesByType('navigation')[0].loadEventEnd)"
            )
            out.update(page.evaluate(SEEN))
            if shot:
                page.screenshot(path=shot, full_page=True)
            filters = {}
            shown = {}
            # An invalid run's page has no commands, hence no filter.
            statuses = ["failed", "ok", "unknown", "skipped", "all"] if page.query_selector("#filters") else []
            for status in statuses:
                page.click(f'#filters button[data-filter="{status}"]')
                filters[status] = page.evaluate(VISIBLE)
                shown[status] = int(page.inner_text("#shown").replace(",", ""))
            out["filters"] = filters
            out["shown"] = shown
        finally:
            ctx.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
