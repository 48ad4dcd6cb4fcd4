#!/usr/bin/python3
"""Checks the operations files against each other: every alert rule has the labels and
annotations an on-call engineer needs and a runbook that exists in ops/runbooks/; every runbook
belongs to an alert; the Grafana dashboard is importable as is (a datasource variable that every
panel and query uses, unique panel ids, no hard-coded datasource).

Usage: check_ops.py OPS_DIR   (Debian's python3-yaml)
"""
import json
import os
import re
import sys

import yaml

ops = sys.argv[1]
problems = []

rules = yaml.safe_load(open(os.path.join(ops, "prometheus", "cir-rules.yaml")))
alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
names = set()
for rule in alerts:
    name = rule["alert"]
    names.add(name)
    if not re.fullmatch(r"Cir[A-Z][A-Za-z]+", name):
        problems.append("%s: alert names are CamelCase with the Cir prefix" % name)
    if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
        problems.append("%s: severity label must be critical, warning or info" % name)
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not annotations.get(key):
            problems.append("%s: annotation %s is missing" % (name, key))
    url = annotations.get("runbook_url", "")
    m = re.search(r"/ops/runbooks/([A-Za-z]+\.md)$", url)
    if not m or not os.path.exists(os.path.join(ops, "runbooks", m.group(1))):
        problems.append("%s: runbook_url %r does not point at a file in ops/runbooks" % (name, url))
    elif m.group(1) != name + ".md":
        problems.append("%s: its runbook should be %s.md" % (name, name))
for book in os.listdir(os.path.join(ops, "runbooks")):
    if book.endswith(".md") and book[:-3] not in names:
        problems.append("runbook %s has no alert" % book)

dash = json.load(open(os.path.join(ops, "grafana", "cir-dashboard.json")))
variables = {v["name"]: v for v in dash["templating"]["list"]}
if variables.get("datasource", {}).get("type") != "datasource":
    problems.append("dashboard: no datasource variable")
ids = [p["id"] for p in dash["panels"]]
if len(ids) != len(set(ids)):
    problems.append("dashboard: panel ids are not unique")
for p in dash["panels"]:
    if p.get("datasource", {}).get("uid") != "${datasource}":
        problems.append("dashboard panel %r does not use ${datasource}" % p["title"])
    if not p.get("targets"):
        problems.append("dashboard panel %r has no query" % p["title"])
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "${datasource}":
            problems.append("dashboard panel %r: a query does not use ${datasource}" % p["title"])
    # One unit a panel: the unit is declared once (no per-series overrides), no query rescales by
    # a constant (the unit does that), and the queries are all per-second rates, all per-interval
    # increases or all levels (gauges, quantiles) — a 0/1 beside a count, or cores beside bytes,
    # fails one of these.
    if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
        problems.append("dashboard panel %r declares no unit" % p["title"])
    for override in p.get("fieldConfig", {}).get("overrides", []):
        if any(prop.get("id") == "unit" for prop in override.get("properties", [])):
            problems.append("dashboard panel %r overrides the unit of a series" % p["title"])
    kinds = set()
    for t in p.get("targets", []):
        expr = t.get("expr", "")
        if re.search(r"[*/]\s*[0-9][0-9.]*(e[0-9]+)?\b", expr):
            problems.append("dashboard panel %r rescales by a constant: %s" % (p["title"], expr))
        kinds.add("increase" if "increase(" in expr else
                  "rate" if re.search(r"\b(i?rate)\(", expr) and "histogram_quantile" not in expr
                  else "level")
    if len(kinds) > 1:
        problems.append("dashboard panel %r mixes %s in one unit" % (p["title"], " and ".join(sorted(kinds))))

# The OpenAPI document names the routes cird serves, and nothing else (the register API in
# api.cc, /metrics, /livez and /readyz in startup.cc).
api = yaml.safe_load(open(os.path.join(ops, "openapi.yaml")))
source = "".join(open(os.path.join(ops, "..", "services", "cird", name)).read()
                 for name in ("api.cc", "main.cc", "startup.cc"))
for path in api["paths"]:
    route = path.split("{")[0]
    if '"%s"' % route not in source and '"%s"' % route.rstrip("/") not in source:
        problems.append("openapi.yaml: %s is not a route of services/cird/{api,main,startup}.cc"
                        % path)

for problem in problems:
    print("PROBLEM: " + problem)
if problems:
    sys.exit(1)
print("ops files consistent: %d alerts with runbooks, %d dashboard panels, %d API paths"
      % (len(alerts), len(dash["panels"]), len(api["paths"])))
