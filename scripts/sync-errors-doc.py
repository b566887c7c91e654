#!/usr/bin/env python3
"""Adds to docs/errors.md a row for every reason of src/LivePatchAgent.Core/Errors/ErrorReason.cs it lacks.

The catalogue is the source: each row is the reason's code, its gRPC status, meaning and remedy. Existing rows are
left as they are (they may say more than the catalogue). ErrorCatalogueTests fails when the two disagree on codes.
Usage: python3 scripts/sync-errors-doc.py
"""
import pathlib
import re

top = pathlib.Path(__file__).resolve().parent.parent
source = (top / "src/LivePatchAgent.Core/Errors/ErrorReason.cs").read_text()
doc_path = top / "docs/errors.md"
doc = doc_path.read_text()
status = {
    "InvalidArgument": "INVALID_ARGUMENT", "NotFound": "NOT_FOUND", "AlreadyExists": "ALREADY_EXISTS",
    "FailedPrecondition": "FAILED_PRECONDITION", "PermissionDenied": "PERMISSION_DENIED", "Unavailable": "UNAVAILABLE",
    "DeadlineExceeded": "DEADLINE_EXCEEDED", "Aborted": "ABORTED", "ResourceExhausted": "RESOURCE_EXHAUSTED",
    "Internal": "INTERNAL",
}
entry = re.compile(r'new\(\s*"([a-z-]+)", ErrorCategory\.(\w+),\s*((?:"(?:[^"\\]|\\.)*"\s*\+?\s*)+),\s*((?:"(?:[^"\\]|\\.)*"\s*\+?\s*)+)\);', re.S)


def text(literal):
    return "".join(bytes(m, "utf-8").decode("unicode_escape") for m in re.findall(r'"((?:[^"\\]|\\.)*)"', literal))


rows = []
for code, category, meaning, remedy in entry.findall(source):
    if f"| `{code}` |" not in doc:
        rows.append(f"| `{code}` | {status[category]} | {text(meaning)} | {text(remedy)} |")

if rows:
    anchor = "| `internal` |"
    doc = doc.replace(anchor, "\n".join(rows) + "\n" + anchor, 1)
    doc_path.write_text(doc)
print(f"errors.md: {len(rows)} row(s) added")
