#!/usr/bin/python3
"""ops/openapi.yaml under redocly's `recommended` ruleset (ops/redocly.yaml): fails on any error
or warning, printing each. redocly is @redocly/cli from npm, installed by ops/install-deps.sh into
ops/tools/node_modules; without it the test fails.

Usage: openapi_lint.py NODE_MODULES OPS_DIR
"""
import json
import os
import subprocess
import sys

node_modules, ops = sys.argv[1:3]
redocly = os.path.join(node_modules, ".bin", "redocly")
if not os.path.exists(redocly):
    sys.exit("FAIL: no %s: run ops/install-deps.sh" % redocly)
result = subprocess.run([redocly, "lint", "--config", os.path.join(ops, "redocly.yaml"),
                         "--format", "json", "--max-problems", "1000",
                         os.path.join(ops, "openapi.yaml")],
                        capture_output=True, text=True, timeout=120)
try:
    report = json.loads(result.stdout)
except json.JSONDecodeError:
    sys.exit("FAIL: redocly printed no report (exit %d):\n%s" % (result.returncode, result.stderr))
for p in report["problems"]:
    where = p["location"][0]["pointer"] if p.get("location") else ""
    print("%s %s: %s %s" % (p["severity"], p["ruleId"], p["message"], where))
totals = report["totals"]
print("redocly lint (recommended): %d errors, %d warnings" % (totals["errors"], totals["warnings"]))
sys.exit(1 if totals["errors"] or totals["warnings"] or result.returncode else 0)
