#!/usr/bin/env python3
"""Holds the templates to rule sets nobody here wrote, as a reviewer would run them:

- checkov (Prisma Cloud's infrastructure-as-code rules; .venv/checkov),
- AWS's serverless rules for cfn-lint (cfn-lint-serverless),
- parliament (Duo Labs' IAM policy linter), on every policy document,

over template.yaml, deploy/member.yaml and deploy/audit.yaml as written, and over concrete
variants of each: the parameters set to defaults and to "everything on" (and, for the guard,
organisation mode and a single account with its own operations topic), every condition
evaluated and every `Fn::If` resolved — the rule sets read an `Fn::If` as an opaque value and
miss the statements inside it — and, for the SAM template, transformed to plain CloudFormation
by AWS's own SAM translator (the aws-sam-cli pinned in requirements-sam.txt).

Every finding must be in tests/rulesets/skips.yaml — tool, rule, resources and the reason (a
false positive of the tool, or a documented trade-off) — or the run fails; a skip that no
longer matches anything fails too, so the list stays true.

Usage: tests/rulesets/run.py   (from the project root, after scripts/setup-python)
"""

import copy
import json
import os
import subprocess
import sys
import tempfile

import yaml
from cfnlint.decode import decode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.path.join(ROOT, ".venv")
sys.path.insert(0, os.path.join(ROOT, "tests", "aws_reference"))
import iam_reference  # noqa: E402  (the sample ARNs and `Sub` evaluation of the IAM check)

PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "ecr-arch-guard",
    "AWS::URLSuffix": "amazonaws.com",
}

ALL_ON = {
    "DiscoverEcs": "true", "DiscoverAppRunner": "true", "DiscoverLambda": "true",
    "DiscoverBatch": "true", "ConsumerChanges": "true", "DeepCheck": "true",
    "Actions": "alert,tag", "DeployGate": "fail", "EcsDeploymentHook": "true",
    "InspectUntagged": "true", "MetricsPerRepository": "true", "ReplicatedImages": "judge",
    "RepositoryPrefix": "team/", "AlertEmail": "alerts@example.com",
    "OperationsEmail": "ops@example.com", "ReservedConcurrency": "10", "ConsumerIndex": "true",
}

# Per template: name -> parameter values over the defaults.
VARIANTS = {
    "template.yaml": {
        "defaults": {},
        "everything-on-organisation": dict(ALL_ON, OrganizationId="o-abc123def4",
                                           ExternalId="guard-external-id"),
        "everything-on-one-account": dict(ALL_ON, DeployGate="warn", ReplicatedImages="off",
                                          OperationsTopicArn="arn:aws:sns:us-east-1:123456789012:ops",
                                          ConsumerIndex="false"),
    },
    "deploy/member.yaml": {
        "defaults": {},
        "everything-on": {
            "Tagging": "true", "DiscoverEcs": "true", "DiscoverAppRunner": "true",
            "DiscoverLambda": "true", "DiscoverBatch": "true", "ConsumerChanges": "true",
            "ExternalId": "guard-external-id",
            "AuditPrincipalArn": "arn:aws:iam::111111111111:role/platform-audit",
            "OperationsTopicArn": "arn:aws:sns:us-east-1:123456789012:ops",
        },
        "central-account-and-region": {
            "CentralEventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/guard",
        },
    },
    "deploy/audit.yaml": {
        "no-roles": {},
        "attached": {"Roles": "platform-audit"},
    },
}


class Resolver:
    """Evaluates a template's conditions for one set of parameter values, and resolves every
    `Fn::If` (and what only parameters decide) in it."""

    def __init__(self, template, values):
        self.t = template
        self.params = {}
        for name, p in template.get("Parameters", {}).items():
            if name in values:
                v = values[name]
            elif "Default" in p:
                v = p["Default"]
            elif name in iam_reference.PARAMETER_SAMPLES:
                v = iam_reference.PARAMETER_SAMPLES[name]
            else:
                raise SystemExit(f"parameter {name} needs a sample value")
            if p.get("Type") == "CommaDelimitedList":
                v = [x for x in str(v).split(",") if x]
            self.params[name] = v if isinstance(v, list) else str(v)
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.t["Conditions"][name]))
        return self.conditions[name]

    def value(self, node):
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref" and (arg in self.params or arg in PSEUDO):
                return self.params.get(arg, PSEUDO.get(arg))
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Equals":
                return str(self.value(arg[0])) == str(self.value(arg[1]))
            if fn == "Fn::Not":
                return not self.value(arg[0])
            if fn == "Fn::And":
                return all(self.value(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.value(a) for a in arg)
            if fn == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if fn == "Fn::Split":
                return str(self.value(arg[1])).split(arg[0])
            if fn == "Fn::Join":
                return arg[0].join(self.value(x) for x in self.value(arg[1]))
        if isinstance(node, list):
            return [self.value(x) for x in node]
        return node

    def resolve(self, node):
        """`node` with each `Fn::If` replaced by its branch (`AWS::NoValue`: left out)."""
        if isinstance(node, dict):
            if len(node) == 1 and "Fn::If" in node:
                name, yes, no = node["Fn::If"]
                return self.resolve(yes if self.condition(name) else no)
            if node == {"Ref": "AWS::NoValue"}:
                return None
            out = {}
            for k, v in node.items():
                r = self.resolve(v)
                if r is not None:
                    out[k] = r
            return out
        if isinstance(node, list):
            return [r for r in (self.resolve(x) for x in node) if r is not None]
        return node

    def template(self):
        t = copy.deepcopy(self.t)
        for section in ("Resources", "Outputs"):
            for name in list(t.get(section, {})):
                c = t[section][name].get("Condition")
                if c is not None and not self.condition(c):
                    del t[section][name]
        for name in t.get("Resources", {}):
            t["Resources"][name] = self.resolve(t["Resources"][name])
        for name in t.get("Outputs", {}):
            t["Outputs"][name] = self.resolve(t["Outputs"][name])
        # Parameters as concrete defaults, so every tool sees this variant's values.
        for name, p in t.get("Parameters", {}).items():
            v = self.params[name]
            p["Default"] = ",".join(v) if isinstance(v, list) else v
        return t


def plain(node):
    """cfn-lint's decoded nodes as plain Python data."""
    return json.loads(json.dumps(node, default=str))


def sam_transform(template):
    """The SAM template as plain CloudFormation, by the SAM translator of the pinned aws-sam-cli
    (the code as `sam package` leaves it: in S3)."""
    template = copy.deepcopy(template)
    for r in template["Resources"].values():
        if r["Type"] == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "s3://ecr-arch-guard-artifacts/bootstrap.zip"
    script = (
        "import json, sys\n"
        "from samtranslator.translator.transform import transform\n"
        "class NoManagedPolicies:\n"
        "    def load(self):\n"
        "        return {}\n"
        "print(json.dumps(transform(json.load(sys.stdin), {}, NoManagedPolicies())))\n"
    )
    env = dict(os.environ, AWS_DEFAULT_REGION=PSEUDO["AWS::Region"])
    out = subprocess.run([os.path.join(VENV, "sam", "bin", "python"), "-c", script],
                         input=json.dumps(template), capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"SAM transform failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def checkov(directory):
    out = subprocess.run([os.path.join(VENV, "bin", "checkov"), "-d", directory, "--framework",
                          "cloudformation", "-o", "json", "--skip-download", "--quiet"],
                         capture_output=True, text=True, env=dict(os.environ, BC_SKIP_MAPPING="TRUE"))
    if not out.stdout.strip():
        raise SystemExit(f"checkov gave no answer: {out.stderr[-2000:]}")
    reports = json.loads(out.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    found = set()
    for report in reports:
        for f in report.get("results", {}).get("failed_checks", []):
            resource = f["resource"].split(".", 1)[-1]
            found.add(("checkov", f["check_id"], resource, f["file_path"].lstrip("/")))
    return found


def cfn_lint_serverless(paths):
    out = subprocess.run([os.path.join(VENV, "bin", "cfn-lint"), "--format", "json",
                          "--append-rules", "cfn_lint_serverless.rules", "--", *paths],
                         capture_output=True, text=True)
    found = set()
    for m in json.loads(out.stdout or "[]"):
        path = m.get("Location", {}).get("Path") or []
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else "?"
        rule = m["Rule"]["Id"]
        # Only the serverless rules here; cfn-lint's own rules run in scripts/test already.
        if rule.startswith(("ES", "WS")):
            found.add(("cfn-lint-serverless", rule, resource, os.path.basename(m["Filename"])))
    return found


def policy_documents(template):
    """(resource, policy document) of every identity policy in a plain CloudFormation template."""
    for name, r in template.get("Resources", {}).items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::IAM::Role":
            for p in props.get("Policies", []):
                yield name, p["PolicyDocument"]
        elif r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            yield name, props["PolicyDocument"]


def parliament_findings(path, template):
    from parliament import analyze_policy_string
    # The IAM check's evaluation of Ref / Sub / GetAtt into sample ARNs of the right shape.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(template, f)
    tpl = iam_reference.Template(f.name)
    os.unlink(f.name)
    def evaluated(node):
        if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in (
                "Ref", "Fn::Sub", "Fn::GetAtt", "Fn::Join", "Fn::Select", "Fn::Split"):
            return tpl.value(node)
        if isinstance(node, dict):
            return {k: evaluated(v) for k, v in node.items()}
        if isinstance(node, list):
            return [evaluated(x) for x in node]
        return node

    found = set()
    for name, doc in policy_documents(template):
        concrete = evaluated(plain(doc))
        for finding in analyze_policy_string(json.dumps(concrete)).findings:
            # "Unknown action ecs:X": the action is part of the rule, so a skip names it.
            detail = finding.detail if isinstance(finding.detail, str) else ""
            rule = finding.issue + (f" {detail.split()[-1]}" if detail.startswith("Unknown action") else "")
            found.add(("parliament", rule, name, path))
    return found


def main():
    findings = set()
    with tempfile.TemporaryDirectory() as tmp:
        originals = os.path.join(tmp, "as-written")
        variants = os.path.join(tmp, "variants")
        os.makedirs(originals)
        os.makedirs(variants)
        lint_paths = []
        for path, sets in VARIANTS.items():
            t, errors = decode(os.path.join(ROOT, path))
            if errors:
                raise SystemExit(f"{path}: {errors}")
            base = os.path.basename(path)
            with open(os.path.join(ROOT, path)) as src, open(os.path.join(originals, base), "w") as dst:
                dst.write(src.read())
            lint_paths.append(os.path.join(ROOT, path))
            for name, values in sets.items():
                resolved = plain(Resolver(plain(t), values).template())
                stem = f"{base[:-5]}.{name}"
                sam_form = os.path.join(variants, f"{stem}.json")
                with open(sam_form, "w") as f:
                    json.dump(resolved, f, indent=1)
                lint_paths.append(sam_form)
                cfn = sam_transform(resolved) if "Transform" in resolved else resolved
                if "Transform" in resolved:
                    with open(os.path.join(variants, f"{stem}.transformed.json"), "w") as f:
                        json.dump(cfn, f, indent=1)
                findings |= parliament_findings(path, cfn)
        findings |= checkov(originals) | checkov(variants)
        findings |= cfn_lint_serverless(lint_paths)

    with open(os.path.join(ROOT, "tests", "rulesets", "skips.yaml")) as f:
        skips = yaml.safe_load(f)
    used = set()
    new = []
    for tool, rule, resource, where in sorted(findings):
        match = [i for i, s in enumerate(skips)
                 if s["tool"] == tool and s["rule"] == rule and resource in s["resources"]]
        if match:
            used.update(match)
        else:
            new.append(f"{tool} {rule} {resource} ({where})")
    stale = [f"{s['tool']} {s['rule']} {s['resources']}" for i, s in enumerate(skips) if i not in used]
    tools = sorted({f[0] for f in findings})
    if new or stale:
        for n in new:
            print(f"NEW FINDING: {n}: fix it, or add it to tests/rulesets/skips.yaml with the reason")
        for s in stale:
            print(f"STALE SKIP: {s} matches no finding: remove it from tests/rulesets/skips.yaml")
        return 1
    print(f"rule sets: {len(findings)} finding(s) over {sum(len(v) for v in VARIANTS.values())} variant(s) "
          f"of 3 templates, each skipped with its reason in tests/rulesets/skips.yaml "
          f"({len(skips)} entries; tools with findings: {', '.join(tools)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
