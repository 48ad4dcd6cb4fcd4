#!/usr/bin/python3
"""Live responses of every endpoint against the contract: two cirds on their embedded brokers,
one with a publish token (the sample scenario is published through POST /v1/events, then every
read endpoint is called with good and bad parameters, bad methods, bad bodies), one without a
token and a rate limit of 1 request a second (403, 429). Every response — status, media type,
headers, body — is recorded, and tests/e2e/openapi_validate.js checks each against
ops/openapi.yaml with ajv.

Usage: openapi_e2e.py CIRD OPENAPI SCENARIO NODE_MODULES WORK_DIR
NODE_MODULES is ops/tools/node_modules (ops/install-deps.sh installs it); without it the test fails.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import cir_e2e

CIRD, OPENAPI, SCENARIO, NODE_MODULES, WORK = sys.argv[1:6]
HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "openapi-e2e-token"
recorded = []
procs = []


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    stop_all()
    sys.exit(1)


def stop_all():
    cir_e2e.stop(procs)


def start_cird(name, extra_env, extra_args):
    log_path = os.path.join(WORK, name + ".log")
    log = open(log_path, "w+")
    env = dict(os.environ)
    env.pop("CIRD_API_TOKEN", None)
    env.update(extra_env)
    proc = subprocess.Popen(
        [CIRD, "--embedded-kafka", "--time", "event", "--data-dir", os.path.join(WORK, name),
         "--http-address", "127.0.0.1", "--http-port", "0"] + extra_args,
        stdout=subprocess.DEVNULL, stderr=log, env=env)
    procs.append(proc)
    deadline = time.time() + 30
    while time.time() < deadline:
        log.seek(0)
        text = log.read()
        m = re.search(r'"msg":"http listening".*?"port":(\d+)', text)
        if m:
            return "http://127.0.0.1:" + m.group(1)
        if proc.poll() is not None:
            fail("cird %s exited early with %d" % (name, proc.returncode))
        time.sleep(0.05)
    fail("cird %s did not say where it listens" % name)


def call(base, method, path, body=None, headers=None, record=True):
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, hdrs, text = response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, e.headers, e.read()
    entry = {"method": method, "path": path, "status": status,
             "content_type": hdrs.get("Content-Type", ""),
             "headers": {k.lower(): v for k, v in hdrs.items()},
             "body": text.decode("utf-8", "replace")}
    if record:
        recorded.append(entry)
    return entry


def json_of(entry):
    return json.loads(entry["body"])


def follow(base, path):
    """Every page of a paged GET, with page_size=1 so that tokens are used."""
    sep = "&" if "?" in path else "?"
    page = call(base, "GET", path + sep + "page_size=1")
    pages = 1
    while page["status"] == 200 and "next_page_token" in json_of(page):
        token = urllib.request.quote(json_of(page)["next_page_token"], safe="")
        page = call(base, "GET", path + sep + "page_size=1&page_token=" + token)
        pages += 1
    if page["status"] != 200:
        fail("paging %s: %s" % (path, page))
    return pages


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    if not os.path.isdir(os.path.join(NODE_MODULES, "ajv")):
        fail("ajv is not in %s: run ops/install-deps.sh" % NODE_MODULES)
    api = start_cird("main", {"CIRD_API_TOKEN": TOKEN}, [])
    limited = start_cird("limited", {}, ["--api-rate-limit", "1"])
    for probe in ("/livez", "/readyz"):  # possibly 503 while still joining: recorded either way
        call(api, "GET", probe)

    with open(SCENARIO) as f:
        events = [json.loads(l) for l in f if l.strip() and not l.startswith("#")]
    auth = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    one = call(api, "POST", "/v1/events", json.dumps(events[0]), auth)
    rest = call(api, "POST", "/v1/events", json.dumps({"events": events[1:]}), auth)
    if one["status"] != 202 or rest["status"] != 202:
        fail("publishing the scenario: %s %s" % (one, rest))
    deadline = time.time() + 90
    while time.time() < deadline:
        stats = call(api, "GET", "/v1/register/stats", record=False)
        if stats["status"] == 200 and json_of(stats).get("events_appended") == len(events):
            break
        time.sleep(0.2)
    else:
        fail("cird did not append the %d published events" % len(events))
    while time.time() < deadline:
        if call(api, "GET", "/readyz", record=False)["status"] == 200:
            break
        time.sleep(0.2)

    # Every read endpoint, succeeding.
    ids = [s["initiative_id"] for s in json_of(call(api, "GET", "/v1/initiatives"))["initiatives"]]
    sample = sorted({e["initiativeId"] for e in events})
    if sorted(ids) != sample:
        fail("expected the sample initiatives %r, got %r" % (sample, ids))
    if follow(api, "/v1/initiatives") != len(sample):
        fail("4 initiatives should take 4 pages of 1")
    for query in ("step=closed", "outcome=successful", "activity=improve", "owner=platform",
                  "alert_kind=stalled", "sort=updated_at", "sort=step", "tag=customer"):
        call(api, "GET", "/v1/initiatives?" + query)
    for i in ids:
        call(api, "GET", "/v1/initiatives/" + urllib.request.quote(i, safe=""))
        follow(api, "/v1/initiatives/%s/events" % i)
        follow(api, "/v1/initiatives/%s/transitions" % i)
        call(api, "GET", "/v1/initiatives/%s/events" % i)
        call(api, "GET", "/v1/initiatives/%s/transitions" % i)
    call(api, "GET", "/v1/alerts")
    call(api, "GET", "/v1/alerts?kind=stalled&state=firing")
    call(api, "GET", "/v1/register/stats")
    call(api, "GET", "/metrics")
    call(api, "GET", "/livez")
    call(api, "GET", "/readyz")

    # Errors the contract documents.
    for method, path in [("GET", "/v1/initiatives?step=nope"), ("GET", "/v1/initiatives?bogus=1"),
                         ("GET", "/v1/initiatives?page_size=0"),
                         ("GET", "/v1/initiatives?page_token=garbage"),
                         ("GET", "/v1/initiatives/NOPE"), ("GET", "/v1/initiatives/CSAT/nope"),
                         ("GET", "/v1/initiatives/CSAT/events?page_size=201"),
                         ("GET", "/v1/initiatives/CSAT/transitions?sort=id"),
                         ("GET", "/v1/alerts?state=resolved"), ("GET", "/v1/alerts?kind=nope"),
                         ("GET", "/v1/register/stats?x=1"), ("GET", "/v1/nothing"),
                         ("DELETE", "/v1/alerts"), ("POST", "/v1/initiatives"),
                         ("PUT", "/v1/initiatives/CSAT"), ("POST", "/livez"),
                         ("POST", "/readyz"), ("POST", "/metrics"), ("GET", "/v1/events")]:
        call(api, method, path, b"" if method in ("POST", "PUT") else None)
    event = json.dumps(events[0])
    call(api, "POST", "/v1/events", event, {"Content-Type": "application/json"})  # no token
    call(api, "POST", "/v1/events", event,
         {"Authorization": "Bearer wrong", "Content-Type": "application/json"})
    call(api, "POST", "/v1/events", event, {"Authorization": "Bearer " + TOKEN,
                                            "Content-Type": "text/plain"})
    call(api, "POST", "/v1/events", "{not json", auth)
    call(api, "POST", "/v1/events", json.dumps({"events": []}), auth)
    call(api, "POST", "/v1/events", json.dumps({"events": [{"id": "x"}, events[1]]}), auth)
    call(api, "POST", "/v1/events", "x" * (1024 * 1024 + 1), auth)

    # The other cird: publishing off, and a rate limit of 1 a second.
    call(limited, "POST", "/v1/events", event, auth)
    deadline = time.time() + 30
    while time.time() < deadline:
        if call(limited, "GET", "/v1/register/stats")["status"] == 429:
            break
    else:
        fail("no 429 from a cird limited to 1 request a second")

    seen = {(r["path"].split("?")[0], r["status"]) for r in recorded}
    for want in [("/v1/events", 202), ("/v1/events", 401), ("/v1/events", 403),
                 ("/v1/events", 413), ("/v1/events", 415), ("/v1/initiatives/NOPE", 404),
                 ("/v1/alerts", 405), ("/v1/register/stats", 429)]:
        if want not in seen:
            fail("the test meant to see %s answer %d" % want)
    stop_all()

    path = os.path.join(WORK, "responses.json")
    with open(path, "w") as f:
        json.dump(recorded, f, indent=1)
    result = subprocess.run(["node", os.path.join(HERE, "openapi_validate.js"), NODE_MODULES,
                             OPENAPI, path], capture_output=True, text=True, timeout=120)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        fail("live responses differ from the contract (recorded in %s)" % path)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()  # also when main raised: no cird outlives the test
