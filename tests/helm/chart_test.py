#!/usr/bin/python3
"""Tests of the Helm chart helm/cir (and of the image definition ops/Dockerfile), without a cluster.

A real helm binary renders the chart: `helm lint --strict`, `helm template` with the defaults and
with every optional feature on (tests/helm/values-all-features.yaml), and the assertions read the
rendered objects. Values the schema must reject make `helm template` fail. helm comes from
ops/install-deps.sh (/opt/cir-tools/bin/helm); without it every test fails, none is skipped.

Usage: chart_test.py --repo REPO_ROOT [unittest arguments, e.g. a class name: Defaults]
ctest (tests/helm/CMakeLists.txt) runs one class a test, label `helm`.
"""

import argparse
import os
import sys
import unittest

import chart_helpers
from chart_checks import Dockerfile, Files, SchemaRejects  # noqa: F401 (run by unittest)
from chart_defaults import Defaults, Lint  # noqa: F401
from chart_features import AllFeatures, Variants  # noqa: F401


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="the repository root")
    args, rest = parser.parse_known_args()
    chart_helpers.REPO = os.path.abspath(args.repo)
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
