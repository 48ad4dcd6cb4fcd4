#!/usr/bin/python3
"""`cird demo` as a newcomer runs it: with port 8080 taken it still starts (a free port), prints
exactly what `circtl replay` prints for the sample scenario, in the same order; with --keep it
stays up, and every command it prints (export CIRCTL_API=…, circtl list/get/history/alerts/stats)
works when run as printed, until the printed `kill PID` stops it cleanly.

Usage: demo_e2e.py CIRD EXPECTED WORK_DIR
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

CIRD, EXPECTED, WORK = sys.argv[1:4]


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def hold_8080():
    """Takes port 8080 if it is free; either way it is busy for cird."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 8080))  # loopback only; a 0.0.0.0 or 127.0.0.1 bind then fails
        s.listen(1)
    except OSError:
        pass  # already taken by something else: just as good
    return s


def demo_prints_what_replay_prints():
    with open(EXPECTED) as f:
        expected = f.read()
    result = subprocess.run([CIRD, "demo"], capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        fail("cird demo exited %d:\n%s" % (result.returncode, result.stderr[-3000:]))
    if result.stdout != expected:
        with open(os.path.join(WORK, "demo.jsonl"), "w") as f:
            f.write(result.stdout)
        fail("cird demo's output differs from %s (got %s/demo.jsonl)" % (EXPECTED, WORK))
    return expected.count("\n")


def keep_serves_what_it_prints():
    out_path = os.path.join(WORK, "keep.out")
    out = open(out_path, "w+")
    log = open(os.path.join(WORK, "keep.log"), "w")
    proc = subprocess.Popen([CIRD, "demo", "--keep"], stdout=out, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        text = ""
        while time.time() < deadline:
            out.seek(0)
            text = out.read()
            if re.search(r"^# stop it: kill \d+$", text, re.M):
                break
            if proc.poll() is not None:
                fail("cird demo --keep exited %d before printing how to stop it" % proc.returncode)
            time.sleep(0.2)
        else:
            fail("cird demo --keep printed no instructions within 120 s")
        commands = [line[4:] for line in text.splitlines() if line.startswith("#   ")]
        if not commands or not commands[0].startswith("export CIRCTL_API=http://127.0.0.1:"):
            fail("the first command is not the export of CIRCTL_API: %r" % commands[:1])
        if commands[0].endswith(":8080"):
            fail("the demo took port 8080, which is busy")
        export = commands[0]
        outputs = {}
        for command in commands[1:]:
            # Each as a newcomer would paste it, in a shell with the export done.
            r = subprocess.run(["bash", "-c", export + "\n" + command], capture_output=True,
                               text=True, timeout=30, env={"PATH": os.environ["PATH"]})
            if r.returncode != 0:
                fail("%r exited %d: %s" % (command, r.returncode, r.stderr))
            outputs[command.split()[1]] = r.stdout
        for name in ("list", "get", "history", "alerts", "stats"):
            if name not in outputs:
                fail("the demo does not suggest circtl " + name)
        listed = [line.split()[0] for line in outputs["list"].splitlines()[1:]]
        # The initiatives of the golden outputs, in id order (circtl list's default sort).
        sample = sorted({json.loads(l)[k]["initiative_id"] for l in open(EXPECTED)
                         for k in ("transition", "alert") if k in json.loads(l)})
        if listed != sample:
            fail("circtl list shows %r, not the sample register" % listed)
        if "initiatives      %d" % len(sample) not in outputs["stats"]:
            fail("circtl stats: " + outputs["stats"])
        pid = int(re.search(r"^# stop it: kill (\d+)$", text, re.M).group(1))
        if pid != proc.pid:
            fail("the demo names pid %d, it is %d" % (pid, proc.pid))
        os.kill(pid, signal.SIGTERM)
        code = proc.wait(timeout=30)
        if code != 0:
            fail("cird demo --keep exited %d after kill" % code)
        return len(commands)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    held = hold_8080()
    try:
        lines = demo_prints_what_replay_prints()
        commands = keep_serves_what_it_prints()
    finally:
        held.close()
    print("demo e2e: %d outputs in replay's order with 8080 busy; --keep served all %d printed "
          "commands and stopped on the printed kill" % (lines, commands))


if __name__ == "__main__":
    main()
