#!/usr/bin/env python3
"""The leak scan: the last test of `make test`.

Scans a test run's folder ($DX_TEST_RUN_DIR: every hub's log and database, every response body
the integration tests read) for what must never be there: a plain Aadhaar number (12 digits, the
first 2-9, Verhoeff-valid, together or in groups of four with a space or a hyphen) or a full
account number from the test data (the `account.number` values of ../shared/examples,
sim/samples and sim/bank_scenarios). Files are read as bytes: SQLite pages, logs and bodies
alike. UUIDs are left out (a UUID's last group is 12 hex digits, sometimes all decimal).

Writes {test, must_hold, passed, figures} to var/stress/leaks.json (or $DX_STRESS_DIR) and exits
1 when anything is found, naming the file and the masked number.

Usage: leak_scan.py RUN_DIR [--source SOURCE_DIR]
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import verhoeff  # noqa: E402

UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
AADHAAR = re.compile(rb"(?<![0-9A-Za-z])([2-9][0-9]{3})([ -]?)([0-9]{4})\2([0-9]{4})(?![0-9A-Za-z])")


def account_numbers(source):
    """Every account.number in the test data's JSON files."""
    found = set()

    def walk(v):
        if isinstance(v, dict):
            acct = v.get("account")
            if isinstance(acct, dict) and isinstance(acct.get("number"), str):
                found.add(acct["number"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for folder in (os.path.join(source, "..", "shared", "examples"),
                   os.path.join(source, "sim", "samples"),
                   os.path.join(source, "sim", "bank_scenarios")):
        for root, _, files in os.walk(folder):
            for f in files:
                if f.endswith(".json"):
                    try:
                        with open(os.path.join(root, f), encoding="utf-8") as fh:
                            walk(json.load(fh))
                    except (OSError, ValueError):
                        pass
    return sorted(n for n in found if len(n) >= 6)


def mask(number):
    return "X" * (len(number) - 4) + number[-4:]


def scan(path, accounts):
    with open(path, "rb") as fh:
        data = UUID.sub(b"<uuid>", fh.read())
    hits = []
    for m in AADHAAR.finditer(data):
        digits = (m.group(1) + m.group(3) + m.group(4)).decode()
        if verhoeff.valid(digits):
            hits.append(("aadhaar", mask(digits)))
    for number in accounts:
        pattern = re.compile(rb"(?<![0-9])" + re.escape(number.encode()) + rb"(?![0-9])")
        if pattern.search(data):
            hits.append(("account", mask(number)))
    return hits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--source", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = ap.parse_args()
    source = os.path.abspath(args.source)
    accounts = account_numbers(source)
    files = bytes_scanned = 0
    kinds = {"log": 0, "database": 0, "responses": 0, "other": 0}
    hits = []
    for root, _, names in os.walk(args.run_dir):
        for name in names:
            path = os.path.join(root, name)
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            files += 1
            bytes_scanned += os.path.getsize(path)
            if os.path.basename(root) == "responses":
                kinds["responses"] += 1
            elif ".db" in name:
                kinds["database"] += 1
            elif name.endswith((".log", ".out")):
                kinds["log"] += 1
            else:
                kinds["other"] += 1
            for kind, masked in scan(path, accounts):
                hits.append({"file": os.path.relpath(path, args.run_dir), "kind": kind,
                             "number": masked})
    passed = not hits and files > 0
    figures = {"files_scanned": files, "bytes_scanned": bytes_scanned,
               "logs": kinds["log"], "databases": kinds["database"],
               "response_files": kinds["responses"], "other_files": kinds["other"],
               "account_numbers_searched": len(accounts),
               "aadhaar_hits": sum(1 for h in hits if h["kind"] == "aadhaar"),
               "account_hits": sum(1 for h in hits if h["kind"] == "account")}
    out_dir = os.environ.get("DX_STRESS_DIR") or os.path.join(source, "var", "stress")
    os.makedirs(out_dir, exist_ok=True)
    doc = {"test": "leak scan",
           "must_hold": "no plain Aadhaar number (Verhoeff-valid, together or grouped) and no full "
                        "account number from the test data in any log, database or response body "
                        "of the test run",
           "passed": passed, "figures": figures}
    with open(os.path.join(out_dir, "leaks.json"), "w") as fh:
        fh.write(json.dumps(doc, indent=1) + "\n")
    print(f"leak scan: {files} files, {bytes_scanned} bytes, {len(hits)} hits")
    for h in hits[:50]:
        print(f"  {h['file']}: {h['kind']} {h['number']}")
    if files == 0:
        print(f"nothing to scan in {args.run_dir}: did the tests run with DX_TEST_RUN_DIR?")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
