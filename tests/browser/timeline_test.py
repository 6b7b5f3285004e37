"""The HTML report's timeline, checked in headless Chromium.

Each case renders a report.html, opens it at 1300 px and at 800 px wide, and checks from the
browser's own layout (getBoundingClientRect of every SVG label, run from here, not by the page) that
no two labels overlap, every label lies inside its SVG, every link in the drawing leads to a section
of the page, the page has no script and no horizontal scroll. Screenshots of the sample reports go to
tests/browser/out/ (ignored by git): the whole page for the samples, the timeline for every case.

Run through scripts/browser-test.sh, which installs Chromium, the driver and Selenium first.
Environment: EKS_REMEDY (the CLI), RENDER_REPORT (the tests crate's render-report), OUT (screenshots).
"""

import copy
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
INCIDENT = ROOT / "samples/eks_i-0abc12345def67890_2026-10-19_0812-UTC_0.7.9.tar.gz"
HEALTHY = ROOT / "samples/eks_i-0fedcba9876543210_2026-10-19_0815-UTC_0.7.9.tar.gz"
WIDTHS = (1300, 800)
# Sub-pixel rounding of text boxes; anything larger is a real overlap.
TOLERANCE = 0.5
HOSTILE = '</svg><script>alert(1)</script>"\'&<b>\u202e\u0007 ' + "漢字😀" * 40 + "x" * 200

EKS_REMEDY = os.environ.get("EKS_REMEDY", str(ROOT / "target/debug/eks-remedy"))
RENDER_REPORT = os.environ.get("RENDER_REPORT", str(ROOT / "target/debug/render-report"))
OUT = Path(os.environ.get("OUT", str(ROOT / "tests/browser/out")))


def cli(bundle, fmt, out):
    subprocess.run(
        [EKS_REMEDY, "analyze", str(bundle), "--format", fmt, "--out", str(out)], check=True
    )
    return out


def from_report(report, out):
    src = out.with_suffix(".json")
    src.write_text(json.dumps(report))
    with open(out, "w", encoding="utf-8") as f:
        subprocess.run([RENDER_REPORT, str(src), "--format", "html"], check=True, stdout=f)
    return out


def tree(root, name, files):
    """A bundle folder named as the collector names its archives, with `files` (path → lines)."""
    base = root / name
    for rel, lines in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return base


def kubelet(ts, msg):
    """A kubelet journal line at `ts` (datetime, UTC)."""
    return (
        f"{ts:%b %d %H:%M:%S} ip-10-0-1-23.ec2.internal kubelet[3214]: "
        f"I{ts:%m%d %H:%M:%S}.112001    3214 {msg}"
    )


def pleg(ts):
    return kubelet(
        ts,
        'kubelet.go:2356] "Skipping pod synchronization" err="PLEG is not healthy: '
        'pleg was last seen active 3m2.704970756s ago; threshold is 3m0s"',
    )


def version(ts, v):
    return kubelet(ts, f'server.go:446] "Kubelet version" kubeletVersion="{v}"')


def boot(ts):
    return f"{ts:%b %d %H:%M:%S} ip-10-0-1-23 kernel: Linux version 5.10.226-214.880.amzn2.x86_64"


def conntrack(ts):
    return f"{ts:%b %d %H:%M:%S} ip-10-0-1-23 kernel: nf_conntrack: table full, dropping packet"


T0 = dt.datetime(2026, 10, 19, 5, 10, 2)


def at(seconds):
    return T0 + dt.timedelta(seconds=seconds)


def incident_json(work):
    return json.loads(cli(INCIDENT, "json", work / "incident.json").read_text())


# Each case: (name, builds the html in `work`); CASES says whether the whole page is saved too.
def case_incident(work):
    return cli(INCIDENT, "html", work / "report.html")


def case_healthy(work):
    return cli(HEALTHY, "html", work / "report.html")


def booted_node(work, n, kubelet_version, *lines):
    """The report of a node booted at T0 whose kubelet (`kubelet_version`) then logs `lines`."""
    b = tree(
        work,
        f"eks_i-{n:016x}_2026-10-19_0812-UTC_0.7.9",
        {
            "var_log/messages": [boot(at(0))],
            "kubelet/kubelet.log": [version(at(39), kubelet_version), *lines],
        },
    )
    return cli(b, "html", work / "report.html")


def case_one_finding(work):
    return booted_node(work, 1, "v1.30.4-eks-a737599", pleg(at(200)), pleg(at(260)))


def case_no_finding(work):
    return booted_node(work, 2, "v1.30.4-eks-a737599")


def case_three_days(work):
    start = dt.datetime(2026, 10, 17, 6, 0, 0)
    day = dt.timedelta(days=1)
    b = tree(
        work,
        "eks_i-0000000000000003_2026-10-20_0700-UTC_0.7.9",
        {
            "var_log/messages": [
                boot(start),
                conntrack(start + dt.timedelta(hours=2)),
                conntrack(start + 2 * day + dt.timedelta(hours=14)),
            ],
            "kubelet/kubelet.log": [
                version(start + dt.timedelta(seconds=40), "v1.30.4-eks-a737599"),
                pleg(start + day + dt.timedelta(hours=8)),
                pleg(start + 2 * day + dt.timedelta(hours=20)),
            ],
        },
    )
    return cli(b, "html", work / "report.html")


def case_forty_findings(work):
    r = incident_json(work)
    base = r["findings"]
    findings = []
    for i in range(40):
        f = copy.deepcopy(base[i % len(base)])
        f["rule"] = f"{f['rule']}-{i:02d}"
        f["caused_by"] = []
        findings.append(f)
    r["findings"] = findings
    r["root_cause"] = None
    return from_report(r, work / "report.html")


def case_thirty_markers(work):
    r = incident_json(work)
    first = dt.datetime.fromisoformat(r["bundle"]["boot_time"].replace("Z", "+00:00"))
    for i in range(30):
        t = first + dt.timedelta(seconds=100, milliseconds=33 * i)
        r["timeline"].append(
            {
                "at": t.isoformat().replace("+00:00", "Z"),
                "since_boot_s": 100 + 0.033 * i,
                "kind": "kubelet-start",
                "label": f"kubelet started (attempt {i})",
            }
        )
    r["timeline"].sort(key=lambda e: e["at"])
    return from_report(r, work / "report.html")


def case_hostile_report(work):
    r = incident_json(work)
    for f in r["findings"]:
        f["rule"] = HOSTILE + f["rule"]
        f["title"] = HOSTILE
        f["caused_by"] = []
    for e in r["timeline"]:
        e["label"] = HOSTILE
    r["root_cause"] = None
    return from_report(r, work / "report.html")


def case_hostile_bundle(work):
    # The analyzer keeps such a version out of the timeline; the PLEG line carries it into evidence.
    hostile = HOSTILE.replace('"', "'")
    line = kubelet(at(200), f'kubelet.go:2356] "Skipping pod synchronization" err="PLEG is not healthy: {hostile}"')
    return booted_node(work, 4, hostile, line)


CASES = [
    ("sample-incident", case_incident, True),
    ("sample-healthy", case_healthy, True),
    ("one-finding", case_one_finding, False),
    ("no-finding", case_no_finding, False),
    ("forty-findings", case_forty_findings, False),
    ("three-days", case_three_days, False),
    ("thirty-markers-in-one-second", case_thirty_markers, False),
    ("hostile-report", case_hostile_report, False),
    ("hostile-bundle", case_hostile_bundle, False),
]

LAYOUT = """
const out = [];
for (const svg of document.querySelectorAll('svg')) {
  // The report lays the timeline out for wide and for narrow pages; CSS shows one of them.
  if (svg.getClientRects().length === 0) continue;
  const s = svg.getBoundingClientRect();
  const labels = [...svg.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    const text = [...t.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join('');
    return {text, x: r.left, y: r.top, r: r.right, b: r.bottom};
  });
  const links = [...svg.querySelectorAll('a')].map(a => {
    const href = a.getAttribute('href') || '';
    return {href, ok: href.startsWith('#') && document.getElementById(href.slice(1)) !== null};
  });
  out.push({svg: {x: s.left, y: s.top, r: s.right, b: s.bottom}, labels, links});
}
const e = document.documentElement;
return {svgs: out, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth,
        scripts: document.querySelectorAll('script').length};
"""


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    profile = tempfile.mkdtemp(prefix="eks-remedy-chromium-")
    for a in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(a)
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=opts, service=service), profile


def overlap(a, b):
    return (
        min(a["r"], b["r"]) - max(a["x"], b["x"]) > TOLERANCE
        and min(a["b"], b["b"]) - max(a["y"], b["y"]) > TOLERANCE
    )


def inside(a, s):
    return (
        a["x"] >= s["x"] - TOLERANCE
        and a["y"] >= s["y"] - TOLERANCE
        and a["r"] <= s["r"] + TOLERANCE
        and a["b"] <= s["b"] + TOLERANCE
    )


def check(layout, width):
    """Problems seen at `width`, as sentences."""
    problems = []
    if layout["scripts"]:
        problems.append(f"{layout['scripts']} script element(s) in the page")
    if layout["scrollWidth"] > layout["clientWidth"]:
        problems.append(
            f"horizontal scroll at {width} px: content {layout['scrollWidth']} px wide"
        )
    if len(layout["svgs"]) != 1:
        problems.append(f"{len(layout['svgs'])} visible timeline SVGs, not one")
    for svg in layout["svgs"]:
        labels = svg["labels"]
        if not labels:
            problems.append("SVG without labels")
        for i, a in enumerate(labels):
            if a["r"] - a["x"] <= 0:
                problems.append(f"label {a['text'][:40]!r} has no width")
            if not inside(a, svg["svg"]):
                problems.append(f"label {a['text'][:40]!r} {a} outside the SVG {svg['svg']}")
            for b in labels[i + 1 :]:
                if overlap(a, b):
                    problems.append(f"labels {a['text'][:40]!r} and {b['text'][:40]!r} overlap")
        for link in svg["links"]:
            if not link["ok"]:
                problems.append(f"link {link['href'][:60]!r} leads nowhere")
    return problems


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    driver, profile = browser()
    passed = failed = 0
    try:
        for name, build, keep in CASES:
            work = Path(tempfile.mkdtemp(prefix=f"eks-remedy-{name}-"))
            try:
                page = build(work)
                problems = []
                for width in WIDTHS:
                    driver.execute_cdp_cmd(
                        "Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
                    )
                    driver.get(page.resolve().as_uri())
                    layout = driver.execute_script(LAYOUT)
                    problems += [f"{width} px: {p}" for p in check(layout, width)]
                    if keep:
                        driver.save_screenshot(str(OUT / f"{name}-{width}.png"))
                    figure = driver.find_elements("css selector", ".timeline")
                    if figure:
                        figure[0].screenshot(str(OUT / f"{name}-timeline-{width}.png"))
                    n = sum(len(s["labels"]) for s in layout["svgs"])
                    print(f"  {name} @ {width} px: {n} labels checked")
                if problems:
                    failed += 1
                    print(f"FAIL {name}")
                    for p in problems[:20]:
                        print(f"    {p}")
                    if len(problems) > 20:
                        print(f"    … and {len(problems) - 20} more")
                else:
                    passed += 1
                    print(f"ok   {name}")
            except Exception:  # one broken case must not hide the others
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc()
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
