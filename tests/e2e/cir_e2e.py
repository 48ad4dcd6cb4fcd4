"""Shared by the e2e scripts: starting cird on its embedded broker, the sample scenario's events
with their CloudEvents headers, stopping what a script started. A helper that cannot go on calls the script's
`fail(message)`, which prints the reason and exits non-zero."""

import json
import re
import signal
import subprocess
import time


def start_embedded_cird(cird, log_path, data_dir, fail):
    """Starts `cird --embedded-kafka --time event` on loopback port 0 with `data_dir`; returns
    (process, bootstrap address it printed, its log file) within 30 s or calls `fail`."""
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        [cird, "--embedded-kafka", "--time", "event", "--data-dir", data_dir,
         "--http-address", "127.0.0.1", "--http-port", "0"],
        stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r'"msg":"embedded Kafka started[^"]*","brokers":"([^"]+)"', log.read())
        if m:
            return proc, m.group(1), log
        if proc.poll() is not None:
            fail("cird exited early with %d" % proc.returncode)
        time.sleep(0.1)
    proc.kill()
    fail("cird did not print its bootstrap address")


def payload_type(event, fail):
    """The ce_type of a sample event in JSON: dev.cir.v1.<its payload's message name>."""
    for key in event:
        if key[0].islower() and isinstance(event[key], dict):
            return "dev.cir.v1." + key[0].upper() + key[1:]
    fail("no payload in " + json.dumps(event))


def scenario_events(path):
    """The events of a JSON-lines scenario file as (line without its newline, parsed event), blank
    lines and lines starting with # skipped."""
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            yield line.strip(), json.loads(line)


def cloudevent_headers(event, fail):
    """The binary-mode CloudEvents headers of a sample event in JSON, as (name, value) pairs."""
    return [("ce_specversion", "1.0"), ("ce_id", event["id"]), ("ce_source", event["source"]),
            ("ce_type", payload_type(event, fail)), ("ce_time", event["eventTime"]),
            ("content-type", "application/json")]


def stop(procs, timeout=20):
    """SIGTERM to every process of `procs` still running, then waits up to `timeout` s for each,
    killing one that does not stop; returns True when every one stopped on SIGTERM."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    stopped = True
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            stopped = False
    return stopped
