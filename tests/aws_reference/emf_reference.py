#!/usr/bin/env python3
"""Checks CloudWatch Embedded Metric Format (EMF) documents against AWS's own specification.

The specification is "Specification: Embedded metric format" in the Amazon CloudWatch User
Guide (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html). Two layers, both from that page:

1. the JSON schema the page publishes, copied unchanged into emf-schema.json beside this file,
   validated with `jsonschema` (a dependency of cfn-lint, pinned through requirements-dev.txt);
2. the rules the page states in prose, which the schema does not express:
   - the document is a JSON object, at most 256 KB;
   - a MetricDirective holds at most 100 MetricDefinitions;
   - every dimension key of every DimensionSet is a member of the root node (a target member,
     not nested) whose value is a string of at most 1024 characters;
   - every metric Name is a member of the root node whose value is a number or an array of at
     most 100 numbers;
   - StorageResolution, when given, is 1 or 60.

Usage: emf_reference.py < LINES   (one JSON document per line; lines that are not EMF, such as
ordinary log lines, are ignored unless --all is given). Exit 1 with one line per violation.
Exit 2 when no EMF document was found at all (a check that saw nothing proves nothing).

Before the input, the checker runs itself on known-bad documents and fails unless each is
reported.
"""

import json
import os
import sys

import jsonschema

MAX_BYTES = 256 * 1024

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "emf-schema.json")) as f:
    SCHEMA = json.load(f)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def violations(line):
    """Every way `line` breaks the specification (empty: a valid EMF document)."""
    out = []
    if len(line.encode()) > MAX_BYTES:
        out.append(f"document of {len(line.encode())} bytes exceeds {MAX_BYTES}")
    try:
        doc = json.loads(line)
    except ValueError as e:
        return [f"not JSON: {e}"]
    if not isinstance(doc, dict):
        return ["the root node is not a JSON object"]
    validator = jsonschema.Draft7Validator(SCHEMA)
    out += [f"schema: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(doc)]
    if out:
        return out
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        if len(directive["Metrics"]) > 100:
            out.append(f"{len(directive['Metrics'])} MetricDefinitions (at most 100)")
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                value = doc.get(key)
                if not isinstance(value, str):
                    out.append(f"dimension {key!r}: target member missing or not a string")
                elif len(value) > 1024:
                    out.append(f"dimension {key!r}: value longer than 1024 characters")
        for metric in directive["Metrics"]:
            name = metric["Name"]
            value = doc.get(name)
            if isinstance(value, list):
                if len(value) > 100 or not all(is_number(v) for v in value):
                    out.append(f"metric {name!r}: array target must hold at most 100 numbers")
            elif not is_number(value):
                out.append(f"metric {name!r}: target member missing or not a number")
            if "StorageResolution" in metric and metric["StorageResolution"] not in (1, 60):
                out.append(f"metric {name!r}: StorageResolution must be 1 or 60")
    return out


def self_test():
    good = {
        "_aws": {
            "Timestamp": 1574109732004,
            "CloudWatchMetrics": [
                {
                    "Namespace": "lambda-function-metrics",
                    "Dimensions": [["functionVersion"]],
                    "Metrics": [{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}],
                }
            ],
        },
        "functionVersion": "$LATEST",
        "time": 100,
        "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee",
    }
    assert violations(json.dumps(good)) == [], violations(json.dumps(good))  # the page's example

    def broken(change):
        doc = json.loads(json.dumps(good))
        change(doc)
        return json.dumps(doc)

    bad = {
        "no Timestamp": broken(lambda d: d["_aws"].pop("Timestamp")),
        "unknown unit": broken(lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="ms")),
        "missing metric target": broken(lambda d: d.pop("time")),
        "string metric": broken(lambda d: d.update(time="100")),
        "missing dimension target": broken(lambda d: d.pop("functionVersion")),
        "numeric dimension": broken(lambda d: d.update(functionVersion=1)),
        "no DimensionSet": broken(lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Dimensions=[])),
        "31 dimension keys": broken(
            lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Dimensions=[[f"d{i}" for i in range(31)]])
        ),
        "storage resolution 5": broken(
            lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(StorageResolution=5)
        ),
        "101 values": broken(lambda d: d.update(time=list(range(101)))),
        "trailing data": json.dumps(good) + " x",
    }
    for name, line in bad.items():
        if not violations(line):
            sys.exit(f"self-test: the checker accepts a document with {name}")
    return len(bad)


def main():
    cases = self_test()
    checked, failed = 0, 0
    for n, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        if "--all" not in sys.argv[1:]:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if not (isinstance(doc, dict) and "_aws" in doc):
                continue
        checked += 1
        for v in violations(line):
            failed += 1
            print(f"line {n}: {v}")
    if checked == 0:
        print("no EMF document in the input")
        sys.exit(2)
    print(f"EMF reference: {checked} document(s) match AWS's specification (schema and rules); self-test {cases} cases")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
