#!/usr/bin/env python3
"""Summarise one bench/run.sh run (standard library only).

  summary.py WORKDIR

Reads what run.sh left in WORKDIR (hyperfine JSON exports, /usr/bin/time -v
outputs, wrk outputs, the Python client's in-process times) and prints the raw
numbers, the ratios and the targets with PASS/FAIL. Also writes
WORKDIR/summary.json.

With BENCH_ONLY=sdk (run.sh's subset), only cent-run end to end and the
hand-written SDK program (bench/sdk) are summarised.
"""
import json
import os
import re
import statistics
import sys

W = sys.argv[1]
N_RUN = int(os.environ.get("N_RUN", "20000"))
N_RUN_LARGE = int(os.environ.get("N_RUN_LARGE", "100000"))
N_CHECK = int(os.environ.get("N_CHECK", "100000"))
BATCH = int(os.environ.get("BATCH", "100"))
CONC = int(os.environ.get("CONC", "4"))
BENCH_ONLY = os.environ.get("BENCH_ONLY", "")
SDK_TARGET = 0.9  # cent-run must reach this share of the hand-written program's cmd/s (issue 25)
CPU_TARGET = 1.5  # cent-run's CPU (user+sys) at most this multiple of the program's (issue 25)
RSS_TARGET_MB = 60  # peak RSS of a run of 200,000 publishes (issue 25)
CHECK_MBPS_TARGET = 150  # `check` reads the manifest at this many MB per second of CPU (issue 25)


def hf(name):
    """(median, mean user, mean sys, all times) of a hyperfine export."""
    with open(os.path.join(W, name + ".hf.json")) as f:
        r = json.load(f)["results"][0]
    times = r["times"]
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "user": r["user"], "system": r["system"], "times": times}


def timev(name):
    """user, sys, wall, peak RSS (MiB) of a /usr/bin/time -v output."""
    txt = open(os.path.join(W, name + ".time.txt")).read()

    def field(label):
        m = re.search(re.escape(label) + r":\s*(\S+)", txt)
        if not m:
            raise SystemExit("no %r in %s.time.txt" % (label, name))
        return m.group(1)

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    return {"user": float(field("User time (seconds)")),
            "sys": float(field("System time (seconds)")),
            "wall": secs,
            "rss_mib": int(field("Maximum resident set size (kbytes)")) / 1024.0}


def timev_runs(name):
    """Median wall and largest peak RSS over NAME.1..3.time.txt."""
    runs = []
    i = 1
    while os.path.exists(os.path.join(W, "%s.%d.time.txt" % (name, i))):
        runs.append(timev("%s.%d" % (name, i)))
        i += 1
    if not runs:
        raise SystemExit("no /usr/bin/time output for " + name)
    times = [r["wall"] for r in runs]
    return {"median": statistics.median(times), "times": times,
            "rss_mib": max(r["rss_mib"] for r in runs)}


def cpu(name):
    """Medians of wall, CPU (user+sys) and peak RSS (MB) over the timed runs of
    NAME (run.sh's `timed`: one /usr/bin/time line per run; hyperfine's warm-up
    run is the first line and is left out when there are more than 3)."""
    path = os.path.join(W, name + ".cpu")
    if not os.path.exists(path):
        return None
    runs = [l.split() for l in open(path) if l.strip() and not l.startswith("Command")]
    runs = [r for r in runs if len(r) == 4][-3:]
    med = lambda xs: statistics.median(xs)
    return {"wall": med(float(r[0]) for r in runs),
            "cpu": med(float(r[1]) + float(r[2]) for r in runs),
            "cpus": [float(r[1]) + float(r[2]) for r in runs],
            "rss_mb": med(int(r[3]) * 1024 / 1e6 for r in runs)}


def cpu_lines():
    """CPU and memory of each contender, their ratios and issue 25's targets
    on them: (lines, targets)."""
    rows = [("cent-run (keys)", "cent-run"), ("cent-run --no-idempotency", "cent-run-noidem"),
            ("sdk (keys)", "sdk-keys"), ("sdk (no keys)", "sdk-nokeys"),
            ("cent-run check (same manifest)", "cent-run-check")]
    got = {n: cpu(n) for _, n in rows}
    if not any(got.values()):
        return [], []
    lines = ["CPU (user+sys) and peak RSS, medians of the timed runs (/usr/bin/time):"]
    for label, n in rows:
        c = got[n]
        if c:
            lines.append("  %-32s wall %.3f s  CPU %.3f s (%s)  %7.2f us/command  peak RSS %6.1f MB"
                         % (label, c["wall"], c["cpu"], ", ".join("%.2f" % x for x in c["cpus"]),
                            c["cpu"] * 1e6 / N_RUN, c["rss_mb"]))
    targets = []
    size = os.path.getsize(os.path.join(W, "run.yaml")) / 1e6
    ck = got["cent-run-check"]
    if ck:
        mbps = size / ck["cpu"] if ck["cpu"] else float("inf")
        lines.append("  check: %.1f MB manifest at %.0f MB per second of CPU; peak RSS %.2fx the manifest"
                     % (size, mbps, ck["rss_mb"] / size))
        targets.append(("check >= %d MB/s of CPU" % CHECK_MBPS_TARGET, mbps >= CHECK_MBPS_TARGET,
                        "%.0f MB/s (%.3f s for %.1f MB)" % (mbps, ck["cpu"], size)))
        targets.append(("check peak RSS <= 2x the manifest", ck["rss_mb"] <= 2 * size,
                        "%.1f MB for %.1f MB" % (ck["rss_mb"], size)))
    for a, b in (("cent-run", "sdk-keys"), ("cent-run-noidem", "sdk-nokeys")):
        if got[a] and got[b]:
            r = got[a]["cpu"] / got[b]["cpu"]
            lines.append("  CPU %s / %s: %.2fx" % (a, b, r))
            if a == "cent-run":
                targets.append(("cent-run CPU <= %.1fx sdk (keys)" % CPU_TARGET, r <= CPU_TARGET, "%.2fx" % r))
    if got["cent-run"]:
        rss = got["cent-run"]["rss_mb"]
        targets.append(("cent-run peak RSS <= %d MB (at 200,000)" % RSS_TARGET_MB,
                        rss <= RSS_TARGET_MB if N_RUN >= 200000 else None,
                        "%.1f MB at %d" % (rss, N_RUN)))
    return lines, targets


def wrk(name):
    rates = []
    for fn in sorted(os.listdir(W)):
        if fn.startswith(name + ".") and fn.endswith(".wrk.txt"):
            txt = open(os.path.join(W, fn)).read()
            rates.append(float(re.search(r"Requests/sec:\s*([\d.]+)", txt).group(1)))
    if not rates:
        raise SystemExit("no wrk output for " + name)
    return {"median_rps": statistics.median(rates), "rps": rates}


def pytimes(mode):
    lines = [json.loads(l) for l in open(os.path.join(W, "py-%s.times.jsonl" % mode))]
    lines = lines[-3:]  # the timed runs (hyperfine's warm-up run comes first)
    return {k: statistics.median(l[k] for l in lines)
            for k in ("import_s", "parse_s", "build_s", "send_s")}


def fmt_times(r):
    return ", ".join("%.3f" % t for t in r["times"])


def sdk_yardstick(cr):
    """The hand-written program on the official Rust SDK (bench/sdk) against
    cent-run (`cr`, its hyperfine result): throughput lines, ratio lines,
    targets (ok is None when the contender was skipped) and summary.json fields."""
    cps = lambda r: N_RUN / r["median"]
    sk, sn = hf("sdk-keys"), hf("sdk-nokeys")
    noidem = hf("cent-run-noidem") if os.path.exists(os.path.join(W, "cent-run-noidem.hf.json")) else None
    lines = [
        "  sdk (keys): hand-written on the cent SDK %9.0f cmd/s   (median %.3f s of %s)"
        % (cps(sk), sk["median"], fmt_times(sk)),
        "  sdk (no keys)                            %9.0f cmd/s   (median %.3f s of %s)"
        % (cps(sn), sn["median"], fmt_times(sn)),
    ]
    if noidem:
        lines.append("  cent-run --no-idempotency end to end     %9.0f cmd/s   (median %.3f s of %s)"
                     % (cps(noidem), noidem["median"], fmt_times(noidem)))
    else:
        lines.append("  cent-run --no-idempotency                skipped (cent-run has no such flag yet)")
    r_keys = cps(cr) / cps(sk)
    r_nokeys = cps(noidem) / cps(sn) if noidem else None
    ratios = [
        "  cent-run (keys) / sdk (keys)   %.2fx   (target >= %.1fx; commands/s, both end to end)"
        % (r_keys, SDK_TARGET),
        ("  cent-run --no-idempotency / sdk (no keys) %.2fx   (target >= %.1fx)" % (r_nokeys, SDK_TARGET))
        if noidem else "  cent-run --no-idempotency / sdk (no keys) n/a (skipped)",
        "  sdk (keys) / sdk (no keys)     %.2fx   (what idempotency keys cost the hand-written program)"
        % (cps(sk) / cps(sn)),
    ]
    targets = [
        ("cent-run >= %.1fx sdk (keys)" % SDK_TARGET, r_keys >= SDK_TARGET, "%.2fx" % r_keys),
        ("cent-run --no-idempotency >= %.1fx sdk (no keys)" % SDK_TARGET,
         None if r_nokeys is None else r_nokeys >= SDK_TARGET,
         "%.2fx" % r_nokeys if noidem else "skipped: no --no-idempotency in cent-run --help"),
    ]
    fields = {"sdk_keys_cps": cps(sk), "sdk_nokeys_cps": cps(sn),
              "cent_run_noidem_cps": cps(noidem) if noidem else None,
              "cent_run_over_sdk_keys": r_keys, "cent_run_noidem_over_sdk_nokeys": r_nokeys}
    return lines, ratios, targets, fields


def verdict(ok):
    return "SKIP" if ok is None else "PASS" if ok else "FAIL"


def main_sdk_only():
    """BENCH_ONLY=sdk: cent-run end to end and the hand-written SDK program only."""
    cr = hf("cent-run")
    lines, ratios, targets, fields = sdk_yardstick(cr)
    out = ["=" * 78,
           "SUMMARY, BENCH_ONLY=sdk  (medians; commands/s = %d commands / wall time)" % N_RUN,
           "=" * 78,
           "throughput, %d publishes over 20 channels, batch %d, concurrency %d, end to end"
           " (process start included):" % (N_RUN, BATCH, CONC),
           "  cent-run (keys) end to end               %9.0f cmd/s   (median %.3f s of %s)"
           % (N_RUN / cr["median"], cr["median"], fmt_times(cr))]
    c_lines, c_targets = cpu_lines()
    targets += c_targets
    out += lines + [""] + c_lines + ["", "RATIOS (same run, same machine):"] + ratios + ["", "TARGETS:"]
    out += ["  %-4s %-50s %s" % (verdict(ok), label, val) for label, ok, val in targets]
    print("\n".join(out))
    fields.update(cent_run_cps=N_RUN / cr["median"], targets={label: ok for label, ok, _ in targets})
    with open(os.path.join(W, "summary.json"), "w") as f:
        json.dump(fields, f, indent=2)


def main():
    if BENCH_ONLY == "sdk":
        return main_sdk_only()
    s = {}
    cr = hf("cent-run")
    cr_t = timev("cent-run")
    cr_check20 = hf("cent-run-check-20k")
    rep = json.load(open(os.path.join(W, "report.json")))
    py = {m: hf("py-" + m) for m in ("async", "threads")}
    py_in = {m: pytimes(m) for m in ("async", "threads")}
    best = min(py, key=lambda m: py[m]["median"])
    py_t = timev("py-" + best)
    wk_pre = wrk("wrk-prebuilt")
    wk_key = wrk("wrk-keyed")
    cr_large = hf("cent-run-large")
    rep_large = json.load(open(os.path.join(W, "report-large.json")))
    ck = ck_t = timev_runs("check-100k")
    yp = yp_t = timev_runs("pyyaml-100k")
    yp_nogc = timev_runs("pyyaml-nogc-100k")

    cps = lambda secs, n=N_RUN: n / secs
    cr_cps = cps(cr["median"])
    py_cps = cps(py[best]["median"])
    py_send_cps = cps(py_in[best]["send_s"])
    cr_send_s = rep["duration_ms"] / 1000.0
    wrk_pre_cps = wk_pre["median_rps"] * BATCH
    wrk_key_cps = wk_key["median_rps"] * BATCH

    out = []
    p = out.append
    p("=" * 78)
    p("SUMMARY  (medians; commands/s = %d commands / wall time)" % N_RUN)
    p("=" * 78)
    p("throughput, %d publishes over 20 channels, batch %d, concurrency 4:" % (N_RUN, BATCH))
    p("  cent-run end to end            %9.0f cmd/s   (median %.3f s of %s)"
      % (cr_cps, cr["median"], ", ".join("%.3f" % t for t in cr["times"])))
    p("    of which `check` (parse+validate, no network) median %.3f s;"
      " send phase in the JSON report %.3f s (%.0f cmd/s)"
      % (cr_check20["median"], cr_send_s, N_RUN / cr_send_s if cr_send_s else float("nan")))
    for m in ("async", "threads"):
        p("  python cent 5.x, %-7s       %9.0f cmd/s   (median %.3f s; in-process: import %.2f s,"
          " YAML %.2f s, build %.2f s, send %.2f s = %.0f cmd/s)%s"
          % (m, cps(py[m]["median"]), py[m]["median"], py_in[m]["import_s"], py_in[m]["parse_s"],
             py_in[m]["build_s"], py_in[m]["send_s"], cps(py_in[m]["send_s"]),
             "  <- baseline (faster)" if m == best else ""))
    p("  wrk, pre-built bodies, no keys %9.0f cmd/s   (%.1f req/s median of %s)"
      % (wrk_pre_cps, wk_pre["median_rps"], ", ".join("%.1f" % r for r in wk_pre["rps"])))
    p("  wrk, pre-built keyed bodies (what cent-run sends: unique idempotency keys)"
      " %9.0f cmd/s   (%.1f req/s median of %s)"
      % (wrk_key_cps, wk_key["median_rps"], ", ".join("%.1f" % r for r in wk_key["rps"])))
    sdk_lines, sdk_ratios, sdk_targets, sdk_fields = sdk_yardstick(cr)
    p("  the hand-written program (bench/sdk, official Rust SDK `cent`), end to end like cent-run:")
    for line in sdk_lines:
        p("  " + line)
    large_send_s = rep_large["duration_ms"] / 1000.0
    p("  extra: cent-run end to end, %d publishes  %9.0f cmd/s   (median %.3f s of %s;"
      " send phase %.3f s = %.0f cmd/s)"
      % (N_RUN_LARGE, N_RUN_LARGE / cr_large["median"], cr_large["median"],
         ", ".join("%.3f" % t for t in cr_large["times"]), large_send_s, N_RUN_LARGE / large_send_s))
    p("")
    c_lines, c_targets = cpu_lines()
    for line in c_lines:
        p(line)
    p("")
    p("client CPU (user+sys) per 10,000 commands, one run under /usr/bin/time -v:")
    cr_cpu = (cr_t["user"] + cr_t["sys"]) * 10000 / N_RUN
    py_cpu = (py_t["user"] + py_t["sys"]) * 10000 / N_RUN
    p("  cent-run          %.3f s   (user %.2f + sys %.2f for %d; peak RSS %.1f MiB)"
      % (cr_cpu, cr_t["user"], cr_t["sys"], N_RUN, cr_t["rss_mib"]))
    p("  python %-8s   %.3f s   (user %.2f + sys %.2f for %d; peak RSS %.1f MiB)"
      % (best, py_cpu, py_t["user"], py_t["sys"], N_RUN, py_t["rss_mib"]))
    p("")
    p("validate-only, %d mixed commands (publish/broadcast/disconnect/history),"
      " wall from /usr/bin/time -v, 3 runs:" % N_CHECK)
    p("  cent-run check    median %.3f s (%s), peak RSS %.1f MiB"
      % (ck["median"], ", ".join("%.2f" % t for t in ck["times"]), ck_t["rss_mib"]))
    p("  PyYAML CSafeLoader median %.3f s (%s), peak RSS %.1f MiB  (python3 -c, parse only)"
      % (yp["median"], ", ".join("%.2f" % t for t in yp["times"]), yp_t["rss_mib"]))
    p("  PyYAML, gc off    median %.3f s (%s), peak RSS %.1f MiB  (informative)"
      % (yp_nogc["median"], ", ".join("%.2f" % t for t in yp_nogc["times"]), yp_nogc["rss_mib"]))
    sweep = os.path.join(W, "batch-sweep.hf.json")
    if os.path.exists(sweep):
        p("")
        p("cent-run end to end by --batch-size (concurrency 4):")
        for r in json.load(open(sweep))["results"]:
            med = statistics.median(r["times"])
            p("  batch %-5s median %.3f s  %9.0f cmd/s" % (r["parameters"]["bs"], med, N_RUN / med))
    scale = [(kind, n) for kind in ("run", "check") for n in (25000, 50000, 100000, 200000)
             if os.path.exists(os.path.join(W, "scale-%s-%d.time.txt" % (kind, n)))]
    if scale:
        p("")
        p("cent-run check by manifest size (run = publishes, 72 bytes each; check = the mixed 159-byte"
          " commands above):")
        for kind, n in scale:
            t = timev("scale-%s-%d" % (kind, n))
            p("  %-5s %7d commands  %6.2f s  peak RSS %6.1f MiB  (%.2f KiB per command)"
              % (kind, n, t["wall"], t["rss_mib"], t["rss_mib"] * 1024 / n))
    p("")
    r_wrk_pre = cr_cps / wrk_pre_cps
    r_wrk_key = cr_cps / wrk_key_cps
    r_py = cr_cps / py_cps
    r_py_send = cr_cps / py_send_cps
    r_check = ck["median"] / yp["median"]
    r_mem = ck_t["rss_mib"] / yp_t["rss_mib"]
    p("RATIOS (same run, same machine):")
    p("  cent-run / wrk pre-built       %.2fx" % r_wrk_pre)
    p("  cent-run / wrk keyed           %.2fx" % r_wrk_key)
    p("  cent-run send phase (from its report) / wrk keyed %.2fx" % ((N_RUN / cr_send_s) / wrk_key_cps))
    p("  cent-run %d end to end / wrk keyed %.2fx   (/ wrk pre-built %.2fx)"
      % (N_RUN_LARGE, N_RUN_LARGE / cr_large["median"] / wrk_key_cps, N_RUN_LARGE / cr_large["median"] / wrk_pre_cps))
    p("  wrk keyed / wrk pre-built      %.2fx   (the server's idempotency work and bigger bodies)"
      % (wrk_key_cps / wrk_pre_cps))
    p("  cent-run / python (end to end) %.2fx" % r_py)
    p("  cent-run / python send phase only (cent-run still end to end) %.2fx" % r_py_send)
    p("  client CPU per 10k: python / cent-run %.2fx" % (py_cpu / cr_cpu))
    p("  check 100k time: cent-run / PyYAML %.2fx   (PyYAML / cent-run %.2fx)" % (r_check, 1 / r_check))
    p("  check 100k time: cent-run / PyYAML with gc off %.2fx" % (ck["median"] / yp_nogc["median"]))
    p("  check 100k peak RSS: cent-run / PyYAML %.2fx" % r_mem)
    for line in sdk_ratios:
        p(line)
    p("")
    targets = [
        ("cent-run >= 0.8x wrk (pre-built bodies)", r_wrk_pre >= 0.8, "%.2fx" % r_wrk_pre),
        ("cent-run >= 0.8x wrk (keyed bodies)", r_wrk_key >= 0.8, "%.2fx" % r_wrk_key),
        ("cent-run >= 3x python (end to end)", r_py >= 3, "%.2fx" % r_py),
        ("check of 100k < 1 s", ck["median"] < 1.0, "%.3f s" % ck["median"]),
        ("check of 100k < 300 MB peak RSS", ck_t["rss_mib"] * 1.048576 < 300, "%.1f MB" % (ck_t["rss_mib"] * 1.048576)),
        ("check faster than PyYAML C parse", ck["median"] < yp["median"],
         "%.3f s vs %.3f s" % (ck["median"], yp["median"])),
    ] + sdk_targets + c_targets
    p("TARGETS:")
    for label, ok, val in targets:
        p("  %-4s %-42s %s" % (verdict(ok), label, val))
    print("\n".join(out))

    s = {"cent_run_cps": cr_cps, "python_best": best, "python_cps": py_cps,
         "python_send_cps": py_send_cps, "wrk_prebuilt_cps": wrk_pre_cps, "wrk_keyed_cps": wrk_key_cps,
         "cent_run_large_cps": N_RUN_LARGE / cr_large["median"],
         "cent_run_cpu_per_10k": cr_cpu, "python_cpu_per_10k": py_cpu,
         "check_100k_s": ck["median"], "check_100k_rss_mib": ck_t["rss_mib"],
         "pyyaml_100k_s": yp["median"], "pyyaml_nogc_100k_s": yp_nogc["median"], "pyyaml_100k_rss_mib": yp_t["rss_mib"],
         "targets": {label: ok for label, ok, _ in targets}}
    s.update(sdk_fields)
    with open(os.path.join(W, "summary.json"), "w") as f:
        json.dump(s, f, indent=2)


if __name__ == "__main__":
    main()
