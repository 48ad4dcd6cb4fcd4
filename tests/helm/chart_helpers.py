"""What the Helm chart tests share (chart_test.py runs them): helm itself, the chart rendered
into objects, and lookups in the rendered objects.

REPO is the repository root; chart_test.py's main() sets it before any test runs.
"""

import os
import subprocess

import yaml

HELM = "/opt/cir-tools/bin/helm"
REPO = ""  # set by main()
RELEASE = "r1"
NAMESPACE = "cir-test"
FULLNAME = "r1-cir"
RECOMMENDED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "helm.sh/chart",
)



def repo_path(*parts):
    """A path below the repository root."""
    return os.path.join(REPO, *parts)


def chart_dir():
    return repo_path("helm", "cir")


def helm(*args):
    """Runs helm; returns (exit code, stdout, stderr)."""
    if not os.access(HELM, os.X_OK):
        raise AssertionError(f"{HELM} is missing: run ops/install-deps.sh (as root)")
    result = subprocess.run([HELM, *args], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def render(*args, values_files=(), show_only=None):
    """helm template of the chart; returns the rendered objects (test hooks included)."""
    cmd = ["template", RELEASE, chart_dir(), "--namespace", NAMESPACE]
    for f in values_files:
        cmd += ["-f", f]
    cmd += list(args)
    code, out, err = helm(*cmd)
    if code != 0:
        raise AssertionError(f"helm {' '.join(cmd)} failed:\n{err}")
    return [doc for doc in yaml.safe_load_all(out) if doc]


def all_features():
    return repo_path("tests", "helm", "values-all-features.yaml")


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def one(objects, kind, name=None):
    found = [o for o in by_kind(objects, kind) if name is None or o["metadata"]["name"] == name]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def container(sts, name="cird"):
    return next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}


def configmap_env(objects):
    return one(objects, "ConfigMap", FULLNAME)["data"]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())
