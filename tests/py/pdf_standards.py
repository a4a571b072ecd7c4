"""Checks PDFs against PDF/UA-1 and PDF/A-2a with two checkers nobody here wrote:
page-validation (profiles ua1 and 2a) and pdfua (its machine-checkable subset of
PDF/UA-1). Prints one line per file and checker, "<file> <checker>: ok" or the
failed rules with their messages, so the test shows what each tool said.
usage: pdf_standards.py FILE...
"""
import json
import subprocess
import sys

import page


def page_validation(path, profile):
    report = page.validate_pdf(path, profile=profile)
    if report.is_compliant:
        return []
    return sorted({f"{f.rule_id}: {f.message[:300]}" for f in report.failures})


def pdfua(path):
    run = subprocess.run(
        ["pdfua", "check", "--format", "json", path], capture_output=True, text=True
    )
    if run.returncode == 0:
        return []
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return [f"exit {run.returncode}: {run.stdout[:300]} {run.stderr[:300]}"]
    findings = []

    def walk(node):
        if isinstance(node, dict):
            if "rule" in node or "rule_id" in node:
                findings.append(
                    f"{node.get('rule') or node.get('rule_id')}: {str(node.get('message'))[:300]}"
                )
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(report)
    return findings or [f"exit {run.returncode}: {run.stdout[:300]}"]


for path in sys.argv[1:]:
    for checker, failures in [
        ("page-validation ua1", page_validation(path, "ua1")),
        ("page-validation 2a", page_validation(path, "2a")),
        ("pdfua", pdfua(path)),
    ]:
        if failures:
            for failure in failures:
                print(f"{path} {checker}: {failure}")
        else:
            print(f"{path} {checker}: ok")
