#!/usr/bin/python3
"""End to end with a real Prometheus: cird on its embedded broker, the sample scenario published by
python3-confluent-kafka (an independent client), Debian's Prometheus scraping cird on loopback.
Then, through Prometheus's HTTP API: the counters and gauges equal what the scenario caused
(computed from the reviewed expectation file), `promtool check metrics` accepts a scrape, and
every query of the Grafana dashboard is accepted and names only metrics that exist.

Usage: prometheus_e2e.py CIRD SCENARIO EXPECTED DASHBOARD WORK_DIR
"""
import collections
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from confluent_kafka import Producer

import cir_e2e

CIRD, SCENARIO, EXPECTED, DASHBOARD, WORK = sys.argv[1:6]
# The alert rules sit beside the dashboard: ops/grafana/… and ops/prometheus/cir-rules.yaml.
RULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(DASHBOARD))), "prometheus",
                     "cir-rules.yaml")
PROCS = []


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    for name in ("cird.log", "prometheus.log"):
        path = os.path.join(WORK, name)
        if os.path.exists(path):
            print("---- " + name, file=sys.stderr)
            print(open(path).read()[-4000:], file=sys.stderr)
    stop_all()
    sys.exit(1)


def stop_all():
    cir_e2e.stop(PROCS)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.5)
    fail("timed out waiting for " + what)


def http_get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def log_lines(text):
    """cird's stderr: every line is a JSON object with a level and a message, else the test fails."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            fail("cird.log line %d is not a JSON log line: %r" % (number, line))
        if not isinstance(record, dict) or record.get("level") not in (
                "debug", "info", "warn", "error") or not record.get("msg"):
            fail("cird.log line %d has no level and msg: %r" % (number, line))
        records.append(record)
    return records


def start_cird():
    log = open(os.path.join(WORK, "cird.log"), "w+")
    proc = subprocess.Popen([CIRD, "--embedded-kafka", "--time", "event",
                             "--data-dir", os.path.join(WORK, "register"),
                             "--http-address", "127.0.0.1", "--http-port", "0",
                             "--stats-interval", "1s"],
                            stdout=subprocess.DEVNULL, stderr=log)
    PROCS.append(proc)
    found = {}

    def started():
        log.seek(0)
        text = log.read()
        complete = text[:text.rfind("\n") + 1]  # a line being written is read next time
        for record in log_lines(complete):
            if record["msg"].startswith("embedded Kafka started"):
                found["brokers"] = record["brokers"]
            elif record["msg"] == "http listening":
                found["port"] = record["port"]
        if "brokers" in found and "port" in found:
            return True
        return proc.poll() is not None and fail("cird exited with %d" % proc.returncode)
    wait_for(started, 30, "cird to start")
    return found["brokers"], found["port"]


def start_prometheus(target_port):
    port = free_port()
    config = os.path.join(WORK, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "rule_files:\n  - %s\n"
                "scrape_configs:\n  - job_name: cird\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % (RULES, target_port))
    log = open(os.path.join(WORK, "prometheus.log"), "w")
    proc = subprocess.Popen(["prometheus", "--config.file=" + config,
                             "--storage.tsdb.path=" + os.path.join(WORK, "tsdb"),
                             "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=log, stderr=log)
    PROCS.append(proc)
    base = "http://127.0.0.1:%d" % port
    wait_for(lambda: http_get(base + "/-/ready") is not None, 60, "Prometheus to be ready")
    return base


def evaluated_after(rfc3339, when):
    """True when Prometheus's RFC 3339 timestamp (nanoseconds, UTC) is later than `when`."""
    stamp = re.sub(r"(\.\d{6})\d*", r"\1", rfc3339).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(stamp).timestamp() > when


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        body = json.loads(http_get(url))
    except urllib.error.HTTPError as e:
        return {"status": "error", "error": e.read().decode()}
    return body


def vector(base, expr):
    """{frozenset(labels): value} of an instant vector."""
    body = query(base, expr)
    if body.get("status") != "success":
        fail("query %s failed: %s" % (expr, body))
    return {frozenset(r["metric"].items()): float(r["value"][1]) for r in body["data"]["result"]}


def scalar(base, expr):
    values = list(vector(base, expr).values())
    return values[0] if values else None


def publish(brokers):
    producer = Producer({"bootstrap.servers": brokers})
    count = 0
    for line in open(SCENARIO):
        if not line.strip() or line.startswith("#"):
            continue
        event = json.loads(line)
        payload = next(k for k, v in event.items() if isinstance(v, dict))
        producer.produce("cir.value-chain", key=event["initiativeId"], value=line.strip(),
                         headers=[("ce_specversion", "1.0"), ("ce_id", event["id"]),
                                  ("ce_source", event["source"]),
                                  ("ce_type", "dev.cir.v1." + payload[0].upper() + payload[1:]),
                                  ("content-type", "application/json")])
        count += 1
    if producer.flush(30) != 0:
        fail("confluent-kafka could not deliver every event")
    return count


def expectations():
    transitions, alerts, firing = 0, collections.Counter(), collections.Counter()
    first_transitions = 0
    final_step = {}
    for line in open(EXPECTED):
        o = json.loads(line)
        if "transition" in o:
            transitions += 1
            t = o["transition"]
            final_step[t["initiative_id"]] = t["to_step"][len("STEP_"):].lower()
            if t.get("from_step", "STEP_UNSPECIFIED") == "STEP_UNSPECIFIED":
                first_transitions += 1
        else:
            a = o["alert"]
            kind = a["kind"][len("ALERT_KIND_"):].lower()
            state = a["state"][len("ALERT_STATE_"):].lower()
            alerts[(kind, state)] += 1
            firing[kind] += 1 if state == "firing" else -1
    return (transitions, alerts, firing, collections.Counter(final_step.values()),
            first_transitions)


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    brokers, port = start_cird()
    base = start_prometheus(port)
    published = publish(brokers)
    transitions, alerts, firing, steps, first_transitions = expectations()

    def settled():
        return (scalar(base, "sum(cir_events_appended_total)") == published and
                scalar(base, "sum(cir_alerts_total)") == sum(alerts.values()) and
                scalar(base, "sum(cir_initiatives)") == 6 and
                scalar(base, 'sum(cir_initiatives{step="closed"})') == steps["closed"])
    wait_for(settled, 120, "Prometheus to see the whole scenario")

    checks = 0

    def expect(expr, want):
        nonlocal checks
        got = scalar(base, expr) or 0.0
        if got != want:
            fail("%s = %s, expected %s" % (expr, got, want))
        checks += 1

    expect("sum(cir_events_appended_total)", published)
    expect("sum(cir_records_consumed_total)", published)
    expect("sum(cir_events_duplicate_total)", 0)
    expect("sum(cir_dead_letters_total)", 0)
    expect("sum(cir_transitions_total)", transitions)
    expect('sum(cir_events_appended_total{activity="improve"})',
           sum(1 for l in open(SCENARIO) if '"ACTIVITY_IMPROVE"' in l))
    for (kind, state), n in alerts.items():
        expect('sum(cir_alerts_total{kind="%s",state="%s"})' % (kind, state), n)
    for kind, n in firing.items():
        expect('sum(cir_alerts_firing{kind="%s"})' % kind, n)
    for step in ("vision", "current_state", "target_state", "plan", "action", "review",
                 "momentum", "closed"):
        expect('sum(cir_initiatives{step="%s"})' % step, steps.get(step, 0))
    expect('sum(cir_initiatives_closed{outcome="successful"})', 4)
    expect('sum(cir_initiatives_closed{outcome="unsuccessful"})', 1)
    expect("sum(cir_iterations_started_total)", 2)
    expect("sum(cir_outbox_delivered_total)", len(open(EXPECTED).readlines()))
    expect("sum(cir_ready)", 1)

    # Label values and series names (services/cird/README.md's metrics table).
    expect('sum(cir_transitions_total{from="none"})', first_transitions)  # an initiative's first
    expect('count(cir_transitions_total{from="unspecified"})', 0)
    for metric in ("cir_dead_letters_total", "cir_events_ignored_total"):
        expect('count(%s{reason=~".*[^a-z_].*"})' % metric, 0)  # lower_snake_case only
    expect('count(cir_dead_letters_total{reason="decode_error"})', 1)
    expect('count(cir_events_ignored_total{reason="unknown_kpi"})', 1)
    expect("count(cir_rocksdb_bytes)", 0)  # split: capacity apart from usage, disk apart
    expect("sum(cir_rocksdb_block_cache_capacity_bytes)", 64 << 20)  # --block-cache-mb 64
    expect('count(cir_rocksdb_memory_bytes{kind=~"memtable|block_cache"})', 2)
    expect('count(cir_rocksdb_memory_bytes{kind!~"memtable|block_cache"})', 0)
    expect("count(sum(cir_rocksdb_memory_bytes) <= sum(process_resident_memory_bytes))", 1)
    expect("count(sum(cir_rocksdb_live_data_bytes) <= sum(cir_rocksdb_sst_files_bytes))", 1)
    expect("count(cir_rocksdb_pending_compaction_bytes)", 1)

    # Health endpoints and HTTP errors: JSON bodies that say why.
    cird_url = "http://127.0.0.1:%d" % port
    for path, status, key in (("/livez", 200, "status"), ("/readyz", 200, "checks"),
                              ("/no-such-path", 404, "error")):
        try:
            with urllib.request.urlopen(cird_url + path, timeout=10) as r:
                code, body = r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            code, body = e.code, json.loads(e.read())
        if code != status or key not in body:
            fail("GET %s: %d %s" % (path, code, body))
    try:
        urllib.request.urlopen(urllib.request.Request(cird_url + "/metrics", data=b"x"), timeout=10)
        fail("POST /metrics was accepted")
    except urllib.error.HTTPError as e:
        if e.code != 405 or "error" not in json.loads(e.read()):
            fail("POST /metrics: %d" % e.code)

    # The alert rules, evaluated by this Prometheus against the live cird: every rule evaluates
    # without error, and no service alert is pending or firing while cird is up, caught up and
    # draining — judged on an evaluation made after Prometheus had cird's samples (the first
    # one, before any scrape, rightly finds no cir_build_info).
    scraped_at = time.time()

    def evaluated_since_scraped():
        groups = json.loads(http_get(base + "/api/v1/rules"))["data"]["groups"]
        return groups and all(evaluated_after(g["lastEvaluation"], scraped_at) for g in groups)
    wait_for(evaluated_since_scraped, 30, "Prometheus to evaluate the alert rules")
    for group in json.loads(http_get(base + "/api/v1/rules"))["data"]["groups"]:
        for rule in group["rules"]:
            if rule.get("health") != "ok":
                fail("rule %s: health %s %s" % (rule["name"], rule.get("health"),
                                                 rule.get("lastError")))
            if group["name"] == "cir.service" and rule["state"] != "inactive":
                fail("alert %s is %s while cird is up: %s"
                     % (rule["name"], rule["state"], rule.get("alerts")))
            checks += 1
    expect('count(up{job=~"(.*-)?cird?(-.*)?"} == 1)', 1)  # CirDown's matcher finds cird

    # promtool on a scrape of cird.
    scrape = http_get("http://127.0.0.1:%d/metrics" % port)
    lint = subprocess.run(["promtool", "check", "metrics"], input=scrape.encode(),
                          capture_output=True)
    if lint.returncode != 0 or lint.stdout.strip() or lint.stderr.strip():
        fail("promtool check metrics: %s %s" % (lint.stdout.decode(), lint.stderr.decode()))

    # Every dashboard query is accepted and names metrics that exist, and every histogram bucket
    # it selects by `le` is one cird exposes (else the panel shows nothing, silently).
    dashboard = json.load(open(DASHBOARD))
    exposed = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", scrape, re.M))
    buckets = set(re.findall(r'^(\w+_bucket)\{.*le="([^"]+)"', scrape, re.M))
    queries = 0
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$job", ".*")
            body = query(base, expr)
            if body.get("status") != "success":
                fail("dashboard panel %r: query %s rejected: %s" % (panel["title"], expr, body))
            for name in re.findall(r"\b((?:cir|process)_[a-z_]+)", expr):
                if name not in exposed:
                    fail("dashboard panel %r names %s, which cird does not expose"
                         % (panel["title"], name))
            for name, le in re.findall(r'(\w+_bucket)\{[^}]*le="([^"]+)"', expr):
                if (name, le) not in buckets:
                    fail("dashboard panel %r selects %s{le=%r}, which cird does not expose"
                         % (panel["title"], name, le))
            queries += 1
    stop_all()
    if PROCS[0].returncode != 0:
        fail("cird exited with %d after SIGTERM" % PROCS[0].returncode)
    lines = len(log_lines(open(os.path.join(WORK, "cird.log")).read()))
    print("prometheus e2e: %d events, %d metric checks through Prometheus's API, promtool check "
          "metrics clean, %d dashboard queries accepted, %d stderr lines all JSON"
          % (published, checks, queries, lines))


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()  # also when main raised: no cird outlives the test
