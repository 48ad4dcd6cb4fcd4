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
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

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


def chart_dir():
    return os.path.join(REPO, "helm", "cir")


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
    return os.path.join(REPO, "tests", "helm", "values-all-features.yaml")


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


class Lint(unittest.TestCase):
    def test_lint_strict_defaults(self):
        code, out, err = helm("lint", "--strict", chart_dir())
        self.assertEqual(code, 0, out + err)

    def test_lint_strict_all_features(self):
        code, out, err = helm("lint", "--strict", chart_dir(), "-f", all_features())
        self.assertEqual(code, 0, out + err)

    def test_chart_metadata(self):
        with open(os.path.join(chart_dir(), "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.assertEqual(chart["apiVersion"], "v2")
        self.assertRegex(chart["name"], r"^[a-z0-9-]{1,63}$")
        self.assertRegex(chart["version"], r"^\d+\.\d+\.\d+")
        self.assertIn("kubeVersion", chart)
        # appVersion is the project's version (CMakeLists.txt project(... VERSION x.y.z)).
        with open(os.path.join(REPO, "CMakeLists.txt")) as f:
            version = re.search(r"project\(cir VERSION ([0-9.]+)", f.read()).group(1)
        self.assertEqual(chart["appVersion"], version)


class Defaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = render()
        cls.sts = one(cls.objects, "StatefulSet", FULLNAME)
        cls.pod_labels = cls.sts["spec"]["template"]["metadata"]["labels"]

    def test_kinds(self):
        kinds = sorted(o["kind"] for o in self.objects)
        self.assertEqual(kinds, sorted(["ConfigMap", "PodDisruptionBudget", "Pod", "Service",
                                        "Service", "ServiceAccount", "StatefulSet"]))
        for kind in ("NetworkPolicy", "ServiceMonitor", "PrometheusRule", "Secret"):
            self.assertEqual(by_kind(self.objects, kind), [], kind)

    def test_recommended_labels_and_no_hard_coded_namespace(self):
        for o in self.objects:
            labels = o["metadata"]["labels"]
            for key in RECOMMENDED_LABELS:
                self.assertIn(key, labels, f"{o['kind']} {o['metadata']['name']}")
            self.assertEqual(labels["app.kubernetes.io/instance"], RELEASE)
            self.assertEqual(labels["app.kubernetes.io/managed-by"], "Helm")
            self.assertIn("app.kubernetes.io/component", labels)
            self.assertNotIn("namespace", o["metadata"], o["kind"])

    def test_statefulset_shape(self):
        spec = self.sts["spec"]
        self.assertEqual(spec["replicas"], 1)
        self.assertEqual(spec["podManagementPolicy"], "Parallel")
        self.assertEqual(spec["updateStrategy"], {"type": "RollingUpdate"})
        selector = spec["selector"]["matchLabels"]
        self.assertTrue(selects(selector, self.pod_labels))
        self.assertNotIn("app.kubernetes.io/version", selector)
        self.assertNotIn("helm.sh/chart", selector)
        headless = one(self.objects, "Service", spec["serviceName"])
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertTrue(headless["spec"]["publishNotReadyAddresses"])
        self.assertTrue(selects(headless["spec"]["selector"], self.pod_labels))
        self.assertNotIn("persistentVolumeClaimRetentionPolicy", spec)

    def test_image_is_pinned(self):
        c = container(self.sts)
        self.assertEqual(c["image"], "cir:0.1.0")
        self.assertEqual(c["imagePullPolicy"], "IfNotPresent")
        self.assertNotIn("command", c)  # the image's entrypoint: cird
        self.assertNotIn("args", c)

    def test_probes(self):
        c = container(self.sts)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"http": 8080})
        for probe, path in (("startupProbe", "/livez"), ("livenessProbe", "/livez"),
                            ("readinessProbe", "/readyz")):
            self.assertIn(probe, c)
            self.assertEqual(c[probe]["httpGet"], {"path": path, "port": "http"}, probe)
            self.assertNotIn("enabled", c[probe])
            self.assertEqual(c[probe]["successThreshold"], 1)
        # The startup probe's budget covers a slow RocksDB open.
        self.assertGreaterEqual(
            c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"], 120)

    def test_security_contexts(self):
        pod = self.sts["spec"]["template"]["spec"]
        self.assertEqual(pod["securityContext"]["fsGroup"], 1001)
        self.assertEqual(pod["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertFalse(pod["automountServiceAccountToken"])
        sc = container(self.sts)["securityContext"]
        self.assertEqual(sc, {
            "runAsUser": 1001, "runAsGroup": 1001, "runAsNonRoot": True, "privileged": False,
            "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}})

    def test_volumes(self):
        spec = self.sts["spec"]
        (claim,) = spec["volumeClaimTemplates"]
        self.assertEqual(claim["metadata"]["name"], "data")
        self.assertEqual(claim["spec"]["accessModes"], ["ReadWriteOnce"])
        self.assertEqual(claim["spec"]["resources"]["requests"]["storage"], "10Gi")
        self.assertNotIn("storageClassName", claim["spec"])
        self.assertNotIn("app.kubernetes.io/version", claim["metadata"]["labels"])
        mounts = {m["name"]: m["mountPath"] for m in container(self.sts)["volumeMounts"]}
        self.assertEqual(mounts, {"data": "/var/lib/cir", "tmp": "/tmp"})
        volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
        self.assertEqual(volumes, {"tmp": {"name": "tmp", "emptyDir": {}}})  # data: the claim
        data_dir = configmap_env(self.objects)["CIRD_DATA_DIR"]
        self.assertTrue(data_dir.startswith("/var/lib/cir/"), data_dir)

    def test_settings(self):
        data = configmap_env(self.objects)
        self.assertEqual(data, {
            "CIRD_BROKERS": "kafka:9092",
            "CIRD_GROUP_ID": "cird",
            "CIRD_INPUT_TOPICS": "cir.value-chain",
            "CIRD_TRANSITIONS_TOPIC": "cir.transitions",
            "CIRD_ALERTS_TOPIC": "cir.alerts",
            "CIRD_DEAD_LETTER_TOPIC": "cir.dead-letters",
            "CIRD_KAFKA_PROPERTIES": "security.protocol=PLAINTEXT;session.timeout.ms=60000",
            "CIRD_DATA_DIR": "/var/lib/cir/register",
            "CIR_DATA_DIR": "/var/lib/cir/register",
            "CIRD_SYNC": "true",
            "CIRD_BLOCK_CACHE_MB": "64",
            "CIRD_WRITE_BUFFER_MB": "32",
            "CIRD_MAX_BATCH": "500",
            "CIRD_SHUTDOWN_GRACE": "10s",
            "CIRD_LOG_LEVEL": "info",
            "CIRD_READY_MAX_LAG": "1000",
            "CIRD_READY_MAX_OUTBOX_AGE": "60s",
            "CIRD_HTTP_ADDRESS": "0.0.0.0",
            "CIRD_HTTP_PORT": "8080",
        })
        c = container(self.sts)
        self.assertEqual(c["envFrom"], [{"configMapRef": {"name": FULLNAME}}])
        env = env_of(c)
        self.assertEqual(set(env), {"CIRD_GROUP_INSTANCE_ID"})  # no CIRD_API_TOKEN: publishing off
        self.assertEqual(env["CIRD_GROUP_INSTANCE_ID"]["valueFrom"],
                         {"fieldRef": {"fieldPath": "metadata.name"}})
        annotations = self.sts["spec"]["template"]["metadata"]["annotations"]
        self.assertRegex(annotations["checksum/config"], r"^[0-9a-f]{64}$")

    def test_session_timeout_covers_a_restart(self):
        # Static membership keeps a restarting replica's partitions for session.timeout.ms: the
        # default must outlast the old pod's exit (terminationGracePeriodSeconds) plus a start.
        props = dict(kv.split("=", 1)
                     for kv in configmap_env(self.objects)["CIRD_KAFKA_PROPERTIES"].split(";"))
        timeout_ms = int(props["session.timeout.ms"])
        grace = self.sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        self.assertGreaterEqual(timeout_ms, (grace + 30) * 1000)
        self.assertLessEqual(timeout_ms, 1800000)  # the brokers' default group.max.session.timeout.ms
        with open(os.path.join(chart_dir(), "values.yaml")) as f:
            text = f.read()
        self.assertIn("## @param kafka.sessionTimeoutMs ", text)
        self.assertIn("terminationGracePeriodSeconds (30 s) for the old pod to exit", text)

    def test_readiness_is_described_as_cird_decides_it(self):
        # /readyz also needs the lag and outbox age bounds (services/cird/probe.cc); the chart sets
        # them and says so wherever it explains readiness.
        data = configmap_env(self.objects)
        self.assertEqual(data["CIRD_READY_MAX_LAG"], "1000")
        self.assertEqual(data["CIRD_READY_MAX_OUTBOX_AGE"], "60s")
        with open(os.path.join(chart_dir(), "values.yaml")) as f:
            values_text = f.read()
        with open(os.path.join(chart_dir(), "README.md")) as f:
            readme = f.read()
        for text in (values_text, readme):
            self.assertIn("config.readyMaxLag", text)
            self.assertIn("config.readyMaxOutboxAgeSeconds", text)
            self.assertNotIn("register open, joined", text)
        code, out, err = helm("install", RELEASE, chart_dir(), "--namespace", NAMESPACE,
                              "--dry-run=client")
        self.assertEqual(code, 0, err)
        notes = out.split("\nNOTES:\n", 1)[1]
        self.assertIn("at most 1000 records behind", notes)
        self.assertNotIn("register open, joined", notes)

    def test_shutdown_fits_the_grace_period(self):
        grace = int(configmap_env(self.objects)["CIRD_SHUTDOWN_GRACE"].rstrip("s"))
        self.assertGreaterEqual(self.sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
                                grace + 10)

    def test_http_service(self):
        svc = one(self.objects, "Service", FULLNAME)
        self.assertEqual(svc["spec"]["type"], "ClusterIP")
        self.assertEqual(svc["spec"]["ports"],
                         [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}])
        self.assertTrue(selects(svc["spec"]["selector"], self.pod_labels))

    def test_pdb(self):
        pdb = one(self.objects, "PodDisruptionBudget", FULLNAME)
        self.assertEqual(pdb["spec"]["maxUnavailable"], 1)
        self.assertNotIn("minAvailable", pdb["spec"])
        self.assertTrue(selects(pdb["spec"]["selector"]["matchLabels"], self.pod_labels))

    def test_helm_test_hook_checks_readyz(self):
        pod = one(self.objects, "Pod")
        self.assertEqual(pod["metadata"]["annotations"]["helm.sh/hook"], "test")
        self.assertEqual(pod["spec"]["restartPolicy"], "Never")
        script = " ".join(pod["spec"]["containers"][0]["command"])
        self.assertIn(f"http://{FULLNAME}-$i.{FULLNAME}-headless.{NAMESPACE}.svc.cluster.local:8080"
                      "/readyz", script)
        self.assertIn("-lt 1 ]", script)  # every replica
        sc = pod["spec"]["containers"][0]["securityContext"]
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertTrue(pod["spec"]["securityContext"]["runAsNonRoot"])


class AllFeatures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.objects = render(values_files=[all_features()])
        cls.sts = one(cls.objects, "StatefulSet", FULLNAME)
        cls.pod_labels = cls.sts["spec"]["template"]["metadata"]["labels"]

    def test_kinds(self):
        kinds = sorted(o["kind"] for o in self.objects)
        self.assertEqual(kinds, sorted([
            "ConfigMap", "ConfigMap", "ConfigMap", "NetworkPolicy", "Pod", "PodDisruptionBudget",
            "PrometheusRule", "Secret", "Secret", "Secret", "Service", "Service", "ServiceAccount",
            "ServiceMonitor", "StatefulSet"]))
        self.assertEqual(one(self.objects, "ConfigMap", f"{RELEASE}-extra")["data"], {"a": "b"})

    def test_common_labels_and_annotations(self):
        for o in self.objects:
            if o["metadata"]["name"] == f"{RELEASE}-extra":
                continue
            self.assertEqual(o["metadata"]["labels"]["team"], "platform", o["kind"])
            self.assertEqual(o["metadata"]["annotations"]["owner"], "sre", o["kind"])
            for key in RECOMMENDED_LABELS:
                self.assertIn(key, o["metadata"]["labels"])

    def test_statefulset(self):
        spec = self.sts["spec"]
        self.assertEqual(spec["replicas"], 3)
        self.assertEqual(spec["persistentVolumeClaimRetentionPolicy"],
                         {"whenScaled": "Retain", "whenDeleted": "Delete"})
        (claim,) = spec["volumeClaimTemplates"]
        self.assertEqual(claim["spec"]["storageClassName"], "fast-ssd")
        self.assertEqual(claim["spec"]["resources"]["requests"]["storage"], "50Gi")
        self.assertEqual(claim["metadata"]["annotations"], {"backup": "daily"})
        pod = spec["template"]["spec"]
        self.assertEqual(pod["terminationGracePeriodSeconds"], 45)
        required = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        self.assertTrue(selects(required[0]["labelSelector"]["matchLabels"], self.pod_labels))

    def test_settings(self):
        data = configmap_env(self.objects)
        self.assertEqual(data["CIRD_BROKERS"], "b-1.kafka.example:9096,b-2.kafka.example:9096")
        self.assertEqual(data["CIRD_GROUP_ID"], "cird-prod")
        self.assertEqual(data["CIRD_INPUT_TOPICS"], "cir.value-chain,cir.value-chain-legacy")
        self.assertEqual(data["CIRD_SYNC"], "false")
        self.assertEqual(data["CIRD_WRITE_BUFFER_MB"], "16")
        self.assertEqual(data["CIRD_SHUTDOWN_GRACE"], "20s")
        self.assertEqual(data["CIRD_LOG_LEVEL"], "debug")
        self.assertEqual(data["CIR_STALL_LIMITS"], "action=60d,plan=30d")
        self.assertEqual(data["CIR_MOMENTUM_LIMIT"], "90d")
        self.assertEqual(data["CIR_LESSONS_LIMIT"], "45d")
        self.assertEqual(data["CIRD_KAFKA_PROPERTIES"], ";".join([
            "security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
            "ssl.ca.location=/etc/cir/kafka-ca/ca.crt", "session.timeout.ms=90000",
            "client.rack=eu-west-1a", "enable.partition.eof=false"]))
        self.assertEqual(data["CIRD_READY_MAX_LAG"], "5000")
        self.assertEqual(data["CIRD_READY_MAX_OUTBOX_AGE"], "120s")
        for value in data.values():
            self.assertNotIn("s3cret", value)  # credentials never land in the ConfigMap
        env = env_of(container(self.sts))
        self.assertEqual(env["CIRD_TICK_INTERVAL"], {"name": "CIRD_TICK_INTERVAL", "value": "500ms"})

    def test_api_token_secret_wired_into_env(self):
        secret = one(self.objects, "Secret", f"{FULLNAME}-api")
        self.assertEqual(base64.b64decode(secret["data"]["token"]).decode(),
                         "publish-token-0123456789")
        env = env_of(container(self.sts))
        self.assertEqual(env["CIRD_API_TOKEN"]["valueFrom"],
                         {"secretKeyRef": {"name": f"{FULLNAME}-api", "key": "token"}})
        for value in configmap_env(self.objects).values():
            self.assertNotIn("publish-token", value)
        annotations = self.sts["spec"]["template"]["metadata"]["annotations"]
        self.assertRegex(annotations["checksum/api-secret"], r"^[0-9a-f]{64}$")

    def test_sasl_secret_wired_into_env(self):
        secret = one(self.objects, "Secret", f"{FULLNAME}-kafka-sasl")
        self.assertEqual(base64.b64decode(secret["data"]["username"]).decode(), "cird")
        self.assertEqual(base64.b64decode(secret["data"]["password"]).decode(), "s3cret")
        env = env_of(container(self.sts))
        for name, key in (("CIRD_KAFKA_SASL_USERNAME", "username"),
                          ("CIRD_KAFKA_SASL_PASSWORD", "password")):
            self.assertEqual(env[name]["valueFrom"],
                             {"secretKeyRef": {"name": f"{FULLNAME}-kafka-sasl", "key": key}})
        annotations = self.sts["spec"]["template"]["metadata"]["annotations"]
        self.assertIn("checksum/secret", annotations)

    def test_ca_certificate_mounted(self):
        secret = one(self.objects, "Secret", f"{FULLNAME}-kafka-ca")
        self.assertIn("BEGIN CERTIFICATE", base64.b64decode(secret["data"]["ca.crt"]).decode())
        pod = self.sts["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "kafka-ca")
        self.assertEqual(volume["secret"]["secretName"], f"{FULLNAME}-kafka-ca")
        self.assertEqual(volume["secret"]["items"], [{"key": "ca.crt", "path": "ca.crt"}])
        mount = next(m for m in container(self.sts)["volumeMounts"] if m["name"] == "kafka-ca")
        self.assertEqual(mount, {"name": "kafka-ca", "mountPath": "/etc/cir/kafka-ca",
                                 "readOnly": True})

    def test_pdb(self):
        pdb = one(self.objects, "PodDisruptionBudget", FULLNAME)
        self.assertEqual(pdb["spec"]["minAvailable"], 2)
        self.assertNotIn("maxUnavailable", pdb["spec"])

    def test_network_policy(self):
        np = one(self.objects, "NetworkPolicy", FULLNAME)
        spec = np["spec"]
        self.assertTrue(selects(spec["podSelector"]["matchLabels"], self.pod_labels))
        self.assertEqual(spec["policyTypes"], ["Ingress", "Egress"])
        (ingress,) = spec["ingress"]
        self.assertEqual(ingress["ports"], [{"port": 8080, "protocol": "TCP"}])
        sources = ingress["from"]
        self.assertIn({"podSelector": {"matchLabels": {f"{FULLNAME}-client": "true"}}}, sources)
        self.assertIn({"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "monitoring"}}}, sources)
        # The helm test pod may reach the replicas.
        test_pod_labels = one(self.objects, "Pod")["metadata"]["labels"]
        self.assertTrue(any(selects(s["podSelector"]["matchLabels"], test_pod_labels)
                            for s in sources if "podSelector" in s))
        egress_ports = [p for rule in spec["egress"] for p in rule["ports"]]
        self.assertIn({"port": 53, "protocol": "UDP"}, egress_ports)
        self.assertIn({"port": 9096, "protocol": "TCP"}, egress_ports)

    def test_service_monitor(self):
        sm = one(self.objects, "ServiceMonitor", FULLNAME)
        self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(sm["metadata"]["namespace"], NAMESPACE)
        self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
        self.assertEqual(sm["spec"]["endpoints"], [{"port": "http", "path": "/metrics",
                                                    "interval": "15s", "scrapeTimeout": "10s",
                                                    "honorLabels": False}])
        # Selects the HTTP Service only (not the headless one: no double scrape).
        services = by_kind(self.objects, "Service")
        matched = [s["metadata"]["name"] for s in services
                   if selects(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
        self.assertEqual(matched, [FULLNAME])
        svc = one(self.objects, "Service", FULLNAME)
        self.assertIn("http", [p["name"] for p in svc["spec"]["ports"]])

    def test_prometheus_rule_equals_ops_rules(self):
        rule = one(self.objects, "PrometheusRule", FULLNAME)
        self.assertEqual(rule["metadata"]["labels"]["release"], "prometheus")
        ops_file = os.path.join(REPO, "ops", "prometheus", "cir-rules.yaml")
        self.assertTrue(os.path.isfile(ops_file), f"{ops_file} is missing")
        with open(ops_file) as f:
            ops_rules = yaml.safe_load(f)
        self.assertTrue(ops_rules["groups"])
        self.assertEqual(rule["spec"]["groups"], ops_rules["groups"],
                         "the PrometheusRule differs from ops/prometheus/cir-rules.yaml: "
                         "run ops/sync-chart-files.sh")
        # The rule that fires when cird is down or not scraped (every other rule reads cir_*
        # series, which vanish with it) is in the chart's copy.
        alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
        self.assertIn("CirDown", alerts)
        self.assertIn("absent(cir_build_info)", alerts["CirDown"]["expr"])
        self.assertIn("up{", alerts["CirDown"]["expr"])
        # Its job matcher selects the job the ServiceMonitor gives the replicas (the Service's
        # name, no jobLabel here): "r1-cir", or "cir" for a release named cir.
        sm = one(self.objects, "ServiceMonitor", FULLNAME)
        self.assertNotIn("jobLabel", sm["spec"])
        for matcher in re.findall(r'up\{job=~"([^"]+)"\}', alerts["CirDown"]["expr"]):
            for job in (FULLNAME, "cir", "cird"):
                self.assertRegex(job, "^(?:%s)$" % matcher)
            self.assertNotRegex("circleci", "^(?:%s)$" % matcher)

    def test_dashboard_equals_ops_dashboard(self):
        cm = one(self.objects, "ConfigMap", f"{FULLNAME}-dashboard")
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        self.assertEqual(cm["metadata"]["annotations"]["grafana_folder"], "cir")
        ops_file = os.path.join(REPO, "ops", "grafana", "cir-dashboard.json")
        self.assertTrue(os.path.isfile(ops_file), f"{ops_file} is missing")
        with open(ops_file) as f:
            ops_dashboard = json.load(f)
        self.assertEqual(json.loads(cm["data"]["cir-dashboard.json"]), ops_dashboard,
                         "the dashboard ConfigMap differs from ops/grafana/cir-dashboard.json: "
                         "run ops/sync-chart-files.sh")

    def test_helm_test_hook_checks_every_replica(self):
        script = " ".join(one(self.objects, "Pod")["spec"]["containers"][0]["command"])
        self.assertIn("-lt 3 ]", script)
        self.assertIn("/readyz", script)


class Variants(unittest.TestCase):
    """Other switches, one rendering each."""

    def test_existing_secrets(self):
        objects = render("--set", "kafka.securityProtocol=SASL_SSL",
                         "--set", "kafka.sasl.existingSecret=kafka-creds",
                         "--set", "kafka.sasl.existingSecretUsernameKey=user",
                         "--set", "kafka.sasl.existingSecretPasswordKey=pass",
                         "--set", "kafka.tls.existingSecret=kafka-ca",
                         "--set", "kafka.tls.existingSecretCAKey=root.pem")
        self.assertEqual(by_kind(objects, "Secret"), [])
        sts = one(objects, "StatefulSet")
        env = env_of(container(sts))
        self.assertEqual(env["CIRD_KAFKA_SASL_USERNAME"]["valueFrom"],
                         {"secretKeyRef": {"name": "kafka-creds", "key": "user"}})
        self.assertEqual(env["CIRD_KAFKA_SASL_PASSWORD"]["valueFrom"],
                         {"secretKeyRef": {"name": "kafka-creds", "key": "pass"}})
        volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "kafka-ca")
        self.assertEqual(volume["secret"]["secretName"], "kafka-ca")
        self.assertEqual(volume["secret"]["items"], [{"key": "root.pem", "path": "ca.crt"}])
        self.assertEqual(configmap_env(objects)["CIRD_KAFKA_PROPERTIES"],
                         "security.protocol=SASL_SSL;sasl.mechanism=SCRAM-SHA-512;"
                         "ssl.ca.location=/etc/cir/kafka-ca/ca.crt;session.timeout.ms=60000")

    def test_api_token_from_an_existing_secret(self):
        objects = render("--set", "api.existingSecret=cir-api", "--set", "api.existingSecretKey=t")
        self.assertEqual(by_kind(objects, "Secret"), [])
        sts = one(objects, "StatefulSet")
        self.assertEqual(env_of(container(sts))["CIRD_API_TOKEN"]["valueFrom"],
                         {"secretKeyRef": {"name": "cir-api", "key": "t"}})
        self.assertNotIn("checksum/api-secret", sts["spec"]["template"]["metadata"]["annotations"])

    def test_no_persistence(self):
        sts = one(render("--set", "persistence.enabled=false"), "StatefulSet")
        self.assertNotIn("volumeClaimTemplates", sts["spec"])
        volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes["data"], {"name": "data", "emptyDir": {}})

    def test_diagnostic_mode(self):
        c = container(one(render("--set", "diagnosticMode.enabled=true"), "StatefulSet"))
        self.assertEqual(c["command"], ["sleep"])
        self.assertEqual(c["args"], ["infinity"])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            self.assertNotIn(probe, c)

    def test_image_digest_and_registry(self):
        digest = "sha256:" + "a" * 64
        c = container(one(render("--set", f"image.digest={digest}",
                                 "--set", "global.imageRegistry=registry.example"), "StatefulSet"))
        self.assertEqual(c["image"], f"registry.example/cir@{digest}")

    def test_dashboard_label_is_configurable(self):
        cm = one(render("--set", "metrics.grafanaDashboard.enabled=true",
                        "--set", "metrics.grafanaDashboard.label=dashboards",
                        "--set", "metrics.grafanaDashboard.labelValue=cir"),
                 "ConfigMap", f"{FULLNAME}-dashboard")
        self.assertEqual(cm["metadata"]["labels"]["dashboards"], "cir")
        self.assertNotIn("grafana_dashboard", cm["metadata"]["labels"])

    def test_network_policy_defaults_allow(self):
        np = one(render("--set", "networkPolicy.enabled=true"), "NetworkPolicy")
        self.assertNotIn("from", np["spec"]["ingress"][0])
        self.assertEqual(np["spec"]["egress"], [{}])

    def test_notes_render(self):
        # A client-side dry run renders NOTES.txt without a cluster.
        for extra in ([], ["-f", all_features(), "--set", "persistence.enabled=false"]):
            code, out, err = helm("install", RELEASE, chart_dir(), "--namespace", NAMESPACE,
                                  "--dry-run=client", *extra)
            self.assertEqual(code, 0, err)
            notes = out.split("\nNOTES:\n", 1)[1]
            self.assertIn(f"helm test -n {NAMESPACE} {RELEASE}", notes)
            self.assertEqual("WARNING: persistence.enabled is false" in notes, bool(extra))

    def test_probes_can_be_switched_off(self):
        c = container(one(render("--set", "startupProbe.enabled=false",
                                 "--set", "livenessProbe.enabled=false"), "StatefulSet"))
        self.assertNotIn("startupProbe", c)
        self.assertNotIn("livenessProbe", c)
        self.assertIn("readinessProbe", c)


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
            src_path, dst_path = os.path.join(REPO, src), os.path.join(REPO, dst)
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
        with open(os.path.join(REPO, "ops", "install-deps.sh")) as f:
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

        with open(os.path.join(REPO, "ops", "Dockerfile")) as f:
            dockerfile = f.read()
        build_stage = dockerfile.split("\nFROM ")[1]
        install = re.search(r"apt-get install -y --no-install-recommends \\\n(.*?)\n &&",
                            build_stage, re.S).group(1)
        self.assertEqual(sorted(install.replace("\\", " ").split()), build_packages)

    def test_build_stage_builds_the_release_preset_without_tests(self):
        with open(os.path.join(REPO, "ops", "Dockerfile")) as f:
            build_stage = f.read().split("\nFROM ")[1]
        self.assertIn("cmake --workflow --preset release", build_stage)
        self.assertIn("build/release/services/cird/cird", build_stage)
        self.assertNotIn("--preset default", build_stage)
        self.assertNotIn("COPY tests/", build_stage)
        for package in ("libgtest-dev", "libgmock-dev", "libbenchmark-dev"):
            self.assertNotIn(package, build_stage)
        # The release preset: Release, no tests, warnings not errors; the development and CI
        # presets make warnings errors; CI (ops/test.sh) builds the release preset.
        with open(os.path.join(REPO, "CMakePresets.json")) as f:
            presets = {p["name"]: p for p in json.load(f)["configurePresets"]}
        release = presets["release"]["cacheVariables"]
        self.assertEqual(release["CMAKE_BUILD_TYPE"], "Release")
        self.assertEqual(release["CIR_BUILD_TESTS"], "OFF")
        self.assertNotIn("CMAKE_COMPILE_WARNING_AS_ERROR", release)
        for name in ("default", "asan"):
            self.assertEqual(presets[name]["cacheVariables"]["CMAKE_COMPILE_WARNING_AS_ERROR"],
                             "ON", name)
        with open(os.path.join(REPO, "CMakeLists.txt")) as f:
            self.assertNotIn("-Werror", f.read())
        with open(os.path.join(REPO, "ops", "test.sh")) as f:
            self.assertRegex(f.read(), r"(?m)^(stage \"[^\"]*\" )?cmake --workflow --preset release\b")

    def test_runtime_stage(self):
        with open(os.path.join(REPO, "ops", "Dockerfile")) as f:
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


def main():
    global REPO
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="the repository root")
    args, rest = parser.parse_known_args()
    REPO = os.path.abspath(args.repo)
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
