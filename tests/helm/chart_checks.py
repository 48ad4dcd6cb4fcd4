"""What the Helm chart's schema rejects, the chart's copies of ops/ files and its values
documentation, and ops/Dockerfile against ops/install-deps.sh and the presets."""

import json
import os
import re
import tempfile
import unittest

import yaml

from chart_helpers import RELEASE, chart_dir, helm, repo_path


class SchemaRejects(unittest.TestCase):
    """Bad values make `helm template` fail, naming the value."""

    def assert_rejected(self, expected, *args, values=None):
        cmd = ["template", RELEASE, chart_dir()]
        if values is not None:
            handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
            with handle:
                yaml.safe_dump(values, handle)
            cmd += ["-f", handle.name]
        cmd += list(args)
        try:
            code, out, err = helm(*cmd)
        finally:
            if values is not None:
                os.unlink(handle.name)
        self.assertNotEqual(code, 0, f"accepted: {args or values}")
        self.assertIn(expected, err)

    def test_negative_replicas(self):
        self.assert_rejected("/replicaCount", "--set", "replicaCount=-1")

    def test_wrong_types(self):
        self.assert_rejected("/replicaCount", "--set-string", "replicaCount=3")
        self.assert_rejected("/config/sync", "--set-string", "config.sync=yes")
        self.assert_rejected("/kafka/topics/input", "--set", "kafka.topics.input=cir.value-chain")
        self.assert_rejected("/persistence/enabled", values={"persistence": {"enabled": "true"}})
        self.assert_rejected("/resources", values={"resources": "1Gi"})
        self.assert_rejected("/commonLabels/team", values={"commonLabels": {"team": 7}})

    def test_unknown_top_level_key(self):
        self.assert_rejected("additional properties 'replicas' not allowed", "--set", "replicas=2")

    def test_unknown_nested_keys(self):
        self.assert_rejected("/kafka", "--set", "kafka.broker=kafka:9092")
        self.assert_rejected("/kafka/sasl", "--set", "kafka.sasl.user=cird")
        self.assert_rejected("/metrics/serviceMonitor", "--set", "metrics.serviceMonitor.enable=true")
        self.assert_rejected("/livenessProbe", "--set", "livenessProbe.path=/healthz")
        self.assert_rejected("/config/stallLimits", "--set", "config.stallLimits.planning=30d")

    def test_bad_enums_and_ranges(self):
        self.assert_rejected("/kafka/securityProtocol", "--set", "kafka.securityProtocol=TLS")
        self.assert_rejected("/config/logLevel", "--set", "config.logLevel=trace")
        self.assert_rejected("/containerPorts/http", "--set", "containerPorts.http=70000")
        self.assert_rejected("/image/tag", "--set", "image.tag=latest")
        self.assert_rejected("/persistence/size", "--set", "persistence.size=10GB")
        self.assert_rejected("/config/stallLimits/plan", "--set", "config.stallLimits.plan=a month")
        # One duration rule with cird: a unit is required (only "0" has none).
        self.assert_rejected("/config/stallLimits/plan", "--set-string", "config.stallLimits.plan=30")
        self.assert_rejected("/config/lessonsLimit", "--set", "config.lessonsLimit=30 days")
        self.assert_rejected("/kafka/brokers", "--set", "kafka.brokers=")

    def test_api_and_session_values(self):
        self.assert_rejected("/api/token", "--set", "api.token=short")  # cird wants >= 16
        self.assert_rejected("/api", "--set", "api.secret=x")
        self.assert_rejected("/kafka/sessionTimeoutMs", "--set", "kafka.sessionTimeoutMs=3000")
        self.assert_rejected("/kafka/sessionTimeoutMs", "--set-string", "kafka.sessionTimeoutMs=60s")
        self.assert_rejected("/config/readyMaxLag", "--set", "config.readyMaxLag=-1")
        self.assert_rejected("/config/writeBufferMB", "--set", "config.writeBufferMB=0")
        self.assert_rejected("/config/writeBufferMB", "--set-string", "config.writeBufferMB=32Mi")
        self.assert_rejected("/config/readyMaxOutboxAgeSeconds",
                             "--set", "config.readyMaxOutboxAgeSeconds=0")
        self.assert_rejected("session.timeout.ms",
                             values={"kafka": {"properties": {"session.timeout.ms": "5000"}}})

    def test_kafka_properties_managed_by_the_chart(self):
        self.assert_rejected("security.protocol",
                             values={"kafka": {"properties": {"security.protocol": "SSL"}}})
        self.assert_rejected("sasl.password",
                             values={"kafka": {"properties": {"sasl.password": "x"}}})
        self.assert_rejected("/kafka/properties/linger.ms",
                             values={"kafka": {"properties": {"linger.ms": "5;x=y"}}})

    def test_cross_value_checks(self):
        self.assert_rejected("terminationGracePeriodSeconds",
                             "--set", "terminationGracePeriodSeconds=15")
        self.assert_rejected("kafka.sasl.username", "--set", "kafka.securityProtocol=SASL_SSL")
        self.assert_rejected("SASL_PLAINTEXT or SASL_SSL", "--set", "kafka.sasl.username=cird")
        self.assert_rejected("SSL or SASL_SSL", "--set", "kafka.tls.existingSecret=ca")
        self.assert_rejected("not both", "--set", "pdb.minAvailable=1",
                             "--set", "pdb.maxUnavailable=1")


class Files(unittest.TestCase):
    """The chart's copies of the ops/ monitoring files, and the values documentation."""

    def test_chart_copies_match_ops(self):
        for src, dst in (("ops/prometheus/cir-rules.yaml", "helm/cir/files/cir-rules.yaml"),
                         ("ops/grafana/cir-dashboard.json", "helm/cir/files/cir-dashboard.json")):
            src_path, dst_path = repo_path(src), repo_path(dst)
            self.assertTrue(os.path.isfile(src_path), f"{src} is missing")
            self.assertTrue(os.path.isfile(dst_path), f"{dst} is missing: run ops/sync-chart-files.sh")
            with open(src_path, "rb") as a, open(dst_path, "rb") as b:
                self.assertEqual(a.read(), b.read(), f"{dst} differs from {src}: "
                                 "run ops/sync-chart-files.sh")

    def test_every_value_is_documented(self):
        with open(os.path.join(chart_dir(), "values.yaml")) as f:
            text = f.read()
        values = yaml.safe_load(text)
        params = re.findall(r"^\s*## @param (\S+) ", text, re.M)
        self.assertEqual(len(params), len(set(params)), "a @param is documented twice")

        def leaves(node, prefix=""):
            if isinstance(node, dict) and node:
                for key, value in node.items():
                    yield from leaves(value, f"{prefix}{key}.")
            else:
                yield prefix[:-1]

        def exists(path):
            node = values
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    return False
                node = node[part]
            return True

        for param in params:
            self.assertTrue(exists(param), f"@param {param} names no value")
        for leaf in leaves(values):
            self.assertTrue(any(leaf == p or leaf.startswith(p + ".") for p in params),
                            f"{leaf} has no ## @param line")
        with open(os.path.join(chart_dir(), "README.md")) as f:
            readme = f.read()
        for param in params:
            self.assertIn(f"\n| `{param}` |", readme,
                          f"{param} has no row in helm/cir/README.md's values table")


class Dockerfile(unittest.TestCase):
    """ops/Dockerfile's build stage installs the build packages of ops/install-deps.sh."""

    def test_build_packages_in_step_with_install_deps(self):
        with open(repo_path("ops", "install-deps.sh")) as f:
            script = f.read()
        block = re.search(r"^packages=\(\n(.*?)^\)", script, re.M | re.S).group(1)
        groups, current = {}, None
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#"):
                current = line.lstrip("# ").split(" ")[0]
                groups[current] = []
            elif line:
                groups[current] += line.split()
        build_packages = sorted(groups["toolchain"] + groups["libraries"])

        with open(repo_path("ops", "Dockerfile")) as f:
            dockerfile = f.read()
        build_stage = dockerfile.split("\nFROM ")[1]
        install = re.search(r"apt-get install -y --no-install-recommends \\\n(.*?)\n &&",
                            build_stage, re.S).group(1)
        self.assertEqual(sorted(install.replace("\\", " ").split()), build_packages)

    def test_build_stage_builds_the_release_preset_without_tests(self):
        with open(repo_path("ops", "Dockerfile")) as f:
            build_stage = f.read().split("\nFROM ")[1]
        self.assertIn("cmake --workflow --preset release", build_stage)
        self.assertIn("build/release/services/cird/cird", build_stage)
        self.assertNotIn("--preset default", build_stage)
        self.assertNotIn("COPY tests/", build_stage)
        for package in ("libgtest-dev", "libgmock-dev", "libbenchmark-dev"):
            self.assertNotIn(package, build_stage)
        # The release preset: Release, no tests, warnings not errors; the development and CI
        # presets make warnings errors; CI (ops/test.sh) builds the release preset.
        with open(repo_path("CMakePresets.json")) as f:
            presets = {p["name"]: p for p in json.load(f)["configurePresets"]}
        release = presets["release"]["cacheVariables"]
        self.assertEqual(release["CMAKE_BUILD_TYPE"], "Release")
        self.assertEqual(release["CIR_BUILD_TESTS"], "OFF")
        self.assertNotIn("CMAKE_COMPILE_WARNING_AS_ERROR", release)
        for name in ("default", "asan"):
            self.assertEqual(presets[name]["cacheVariables"]["CMAKE_COMPILE_WARNING_AS_ERROR"],
                             "ON", name)
        with open(repo_path("CMakeLists.txt")) as f:
            self.assertNotIn("-Werror", f.read())
        with open(repo_path("ops", "test.sh")) as f:
            self.assertRegex(f.read(), r"(?m)^(stage \"[^\"]*\" )?cmake --workflow --preset release\b")

    def test_runtime_stage(self):
        with open(repo_path("ops", "Dockerfile")) as f:
            dockerfile = f.read()
        runtime = dockerfile.split("\nFROM ")[2]
        self.assertRegex(runtime, r"^debian:\$\{DEBIAN_RELEASE\}-slim")
        self.assertIn("USER 1001:1001", runtime)
        self.assertIn('ENTRYPOINT ["/usr/local/bin/cird"]', runtime)
        self.assertIn('VOLUME ["/var/lib/cir"]', runtime)
        self.assertIn("ops/runtime-packages.sh", dockerfile)
        # The chart's defaults match the image: user, data directory and HTTP port.
        with open(os.path.join(chart_dir(), "values.yaml")) as f:
            values = yaml.safe_load(f)
        self.assertEqual(values["containerSecurityContext"]["runAsUser"], 1001)
        self.assertIn(f"CIRD_DATA_DIR={values['config']['dataDir']}", runtime)
        self.assertIn(f"CIRD_HTTP_PORT={values['containerPorts']['http']}", runtime)
