#!/usr/bin/python3
"""Every output of the sample scenario is a valid CloudEvent, by an implementation nobody here
wrote: cird runs on its embedded broker, python3-confluent-kafka publishes the sample scenario and
reads back every record of the transitions and alerts topics (key, headers and value as bytes),
and the CloudEvents JS SDK (tests/e2e/cloudevents_validate.js) validates each one.

Usage: cloudevents_e2e.py CIRD SCENARIO EXPECTED NODE_MODULES WORK_DIR
NODE_MODULES is ops/tools/node_modules (ops/install-deps.sh installs it); without it the test fails.
Everything listens on loopback; cird is stopped with SIGTERM (SIGKILL if it overstays).
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import time

from confluent_kafka import Consumer, Producer

import cir_e2e

CIRD, SCENARIO, EXPECTED, NODE_MODULES, WORK = sys.argv[1:6]
HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 90


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def publish(brokers):
    producer = Producer({"bootstrap.servers": brokers})
    count = 0
    for line, event in cir_e2e.scenario_events(SCENARIO):
        producer.produce("cir.value-chain", key=event["initiativeId"], value=line,
                         headers=cir_e2e.cloudevent_headers(event, fail))
        count += 1
    if producer.flush(30) != 0:
        fail("confluent-kafka could not deliver every event")
    return count


def collect(brokers, want):
    """Every record of the output topics, until `want` distinct ce_ids came (or the deadline)."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "cloudevents-e2e",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["cir.transitions", "cir.alerts"])
    records, ids = [], set()
    deadline = time.time() + TIMEOUT
    try:
        while len(ids) < want and time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            headers = {}
            for name, value in msg.headers() or []:
                if name in headers:
                    fail("header %s twice in %s" % (name, msg.topic()))
                headers[name] = value.decode("utf-8")
            ids.add(headers.get("ce_id"))
            records.append({"topic": msg.topic(), "key": (msg.key() or b"").decode("utf-8"),
                            "headers": headers,
                            "value_base64": base64.b64encode(msg.value() or b"").decode()})
    finally:
        consumer.close()
    return records, ids


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    if not os.path.isdir(os.path.join(NODE_MODULES, "cloudevents")):
        fail("the CloudEvents JS SDK is not in %s: run ops/install-deps.sh" % NODE_MODULES)
    with open(EXPECTED) as f:
        expected = {json.loads(line)[k]["id"] for line in f for k in json.loads(line)}

    proc, brokers, log = cir_e2e.start_embedded_cird(
        CIRD, os.path.join(WORK, "cird.log"), os.path.join(WORK, "data"), fail)
    try:
        published = publish(brokers)
        records, ids = collect(brokers, len(expected))
    finally:
        cir_e2e.stop([proc])
    if ids != expected:
        fail("outputs differ from the expectation: missing %s, unexpected %s"
             % (sorted(expected - ids)[:5], sorted(ids - expected)[:5]))
    path = os.path.join(WORK, "records.json")
    with open(path, "w") as f:
        json.dump(records, f)
    result = subprocess.run(["node", os.path.join(HERE, "cloudevents_validate.js"), NODE_MODULES,
                             path], capture_output=True, text=True, timeout=60)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        fail("the CloudEvents JS SDK rejected cird's outputs (records in %s)" % path)
    print("cloudevents e2e: %d events published, %d outputs read back, every one a valid "
          "CloudEvent" % (published, len(records)))


if __name__ == "__main__":
    main()
