#!/usr/bin/python3
"""Writes docs/RELIABILITY.md from the stress suite's figures files.

usage: tests/stress/reliability_doc.py FIGURES_DIR OUTPUT

Every FIGURES_DIR/*.json is one test's result, shaped
  {"test": str, "must_hold": str, "passed": bool, "figures": {name: number | string}}
(written by `dx_stress` and by any other test of the suite). A file that is not of that shape
is listed as unreadable, never skipped silently.
"""
import datetime
import glob
import json
import os
import platform
import subprocess
import sys

ORDER = ["crash_loop", "disk_full", "peer_faults", "slow_clients"]


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = ", %.1f GiB RAM" % (kib / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    system = platform.system() + " " + platform.release()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    system = line.split("=", 1)[1].strip().strip('"') + ", " + system
    except OSError:
        pass
    return "%s; %d × %s%s; %s" % (platform.node() or "host", os.cpu_count() or 0, cpu, mem,
                                   system)


def commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        # The page itself does not count: the last run rewrote it.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)docs/RELIABILITY.md"],
                               capture_output=True, text=True).stdout.strip()
        return out + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load(path):
    try:
        with open(path) as f:
            d = json.load(f)
        if (isinstance(d, dict) and isinstance(d.get("test"), str)
                and isinstance(d.get("must_hold"), str) and isinstance(d.get("passed"), bool)
                and isinstance(d.get("figures"), dict)):
            return d
        return {"test": os.path.basename(path), "must_hold": "(file not of the figures shape)",
                "passed": False, "figures": {}}
    except (OSError, ValueError) as e:
        return {"test": os.path.basename(path), "must_hold": "(unreadable: %s)" % e,
                "passed": False, "figures": {}}


def cell(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "%.3g" % v if abs(v) < 1000 else "{:,.0f}".format(v)
    if isinstance(v, int):
        return "{:,}".format(v)
    return str(v).replace("|", "\\|").replace("\n", " ")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, output = sys.argv[1], sys.argv[2]
    results = [load(p) for p in sorted(glob.glob(os.path.join(folder, "*.json")))]
    rank = {name: i for i, name in enumerate(ORDER)}
    results.sort(key=lambda r: (rank.get(r["test"], len(ORDER)), r["test"]))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability: what the stress suite shows",
        "",
        "Written by `make stress` (do not edit: run it again). Generated %s on %s; commit %s."
        % (now, machine(), commit()),
        "",
        "Each test below states what must hold and the figures its last run measured. The "
        "drivers and how to run one alone are described in README.md, *Stress suite*.",
        "",
        "| test | passed | what must hold |",
        "|---|---|---|",
    ]
    for r in results:
        lines.append("| %s | %s | %s |" % (r["test"], "**yes**" if r["passed"] else "**NO**",
                                           cell(r["must_hold"])))
    if not results:
        lines.append("| (none) | — | no figures files in %s |" % folder)
    for r in results:
        lines += ["", "## %s — %s" % (r["test"], "passed" if r["passed"] else "FAILED"), "",
                  r["must_hold"], "", "| figure | value |", "|---|---|"]
        for name, value in r["figures"].items():
            lines.append("| %s | %s |" % (cell(name), cell(value)))
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    with open(output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s (%d tests, %d passed)" % (output, len(results),
                                              sum(1 for r in results if r["passed"])))


if __name__ == "__main__":
    main()
