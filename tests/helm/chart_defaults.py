"""The Helm chart's lint and what it renders with the default values."""

import os
import re
import unittest

import yaml

from chart_helpers import (FULLNAME, NAMESPACE, RELEASE, RECOMMENDED_LABELS, all_features, by_kind,
                           chart_dir, configmap_env, container, env_of, helm, one, render,
                           repo_path, selects)


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
        with open(repo_path("CMakeLists.txt")) as f:
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
            "CIRD_WRITE_BUFFER_MB": "16",
            "CIRD_MAX_BATCH": "500",
            "CIRD_MAX_IN_FLIGHT": "10000",
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
