"""What the Helm chart renders with every optional feature on
(tests/helm/values-all-features.yaml) and with other variants of the values."""

import base64
import json
import os
import re
import unittest

import yaml

from chart_helpers import (FULLNAME, NAMESPACE, RELEASE, RECOMMENDED_LABELS, all_features, by_kind,
                           chart_dir, configmap_env, container, env_of, helm, one, render,
                           repo_path, selects)


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
        self.assertEqual(data["CIRD_WRITE_BUFFER_MB"], "8")
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
        ops_file = repo_path("ops", "prometheus", "cir-rules.yaml")
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
        ops_file = repo_path("ops", "grafana", "cir-dashboard.json")
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
