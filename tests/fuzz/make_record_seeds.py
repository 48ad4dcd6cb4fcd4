#!/usr/bin/python3
"""Writes the seed corpus of record_fuzz (tests/fuzz/corpus/record/) in the byte layout the
target's FuzzedDataProvider reads: strings from the front (each ended by a backslash and one
other byte), the selector bytes from the end in reverse order of consumption.

Usage: tests/fuzz/make_record_seeds.py   (rewrites the corpus; the seeds are checked in)
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "record")
TYPES = ["InitiativeProposed", "KpiMeasured", "TargetSet", "BaselineMeasured", "PlanDefined",
         "ActionUpdated", "ReviewConcluded", "MomentumRecorded"]
CONTENT = ["application/json", "application/protobuf", "application/cloudevents+json",
           "application/json; charset=utf-8", "text/plain", ""]


def s(text):
    """A ConsumeRandomLengthString field: backslashes doubled, ended by '\\' + 'x'."""
    return text.replace(b"\\", b"\\\\") + b"\\x"


def binary(event_id, key, value, type_name, content=0, with_time=False):
    front = s(event_id) + (s(key) if key is not None else b"") + value
    tail = [1, 0, 1 if key is not None else 0, 1 if with_time else 0, TYPES.index(type_name),
            0x80 | content]  # shape last: consumed first
    return front + bytes(tail)


def structured(key, value):
    front = (s(key) if key is not None else b"") + value
    return front + bytes([1, 0, 1 if key is not None else 0, 0x40 | 2])


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    seeds = {}
    with open(os.path.join(ROOT, "events", "samples", "scenario.jsonl"), encoding="utf-8") as f:
        lines = [l for l in f if l.strip() and not l.startswith("#")]
    for i, line in enumerate(lines[:24]):
        event = json.loads(line)
        payload = [k for k in event if k[0].islower() and k not in (
            "id", "source", "initiativeId", "activity", "eventTime")][0]
        type_name = payload[0].upper() + payload[1:]
        if type_name not in TYPES:
            type_name = "KpiMeasured"
        seeds[f"scenario-{i:02d}"] = binary(event["id"].encode(), event["initiativeId"].encode(),
                                            line.strip().encode(), type_name)
    first = json.loads(lines[0])
    ce = {"specversion": "1.0", "id": "s-1", "source": "//fuzz", "type": "dev.cir.v1.InitiativeProposed",
          "time": first["eventTime"], "data": first}
    seeds["structured"] = structured(first["initiativeId"].encode(), json.dumps(ce).encode())
    bad = b"x\xff\xfe"
    seeds["hostile-deep"] = binary(b"d-1", b"INC-MTTR", b"[" * 20000 + b"]" * 20000, "KpiMeasured")
    seeds["hostile-deep-structured"] = structured(b"INC-MTTR", b'{"data":' + b"[" * 5000 + b"]" * 5000 + b"}")
    seeds["hostile-utf8-value"] = binary(b"u-1", b"INC-MTTR", b'{"kpiMeasured":{"kpi":"' + bad + b'","value":1}}', "KpiMeasured")
    seeds["hostile-utf8-id"] = binary(b"u-2" + bad, b"INC-MTTR", lines[1].strip().encode(), "KpiMeasured")
    seeds["hostile-utf8-key"] = binary(b"u-3", bad, lines[1].strip().encode(), "KpiMeasured")
    seeds["hostile-dup-keys"] = binary(b"k-1", b"INC-MTTR", b'{"kpiMeasured":{"kpi":"a","value":1},"kpiMeasured":{"kpi":"b","value":2}}', "KpiMeasured")
    seeds["hostile-single-quotes"] = binary(b"q-1", b"INC-MTTR", b"{'kpiMeasured':{'kpi':'a','value':1}}", "KpiMeasured")
    far = lines[0].strip().encode().replace(first["eventTime"].encode(), b"9999-12-31T00:00:00Z")
    seeds["hostile-year-9999"] = binary(b"t-1", first["initiativeId"].encode(), far,
                                        "InitiativeProposed")
    seeds["hostile-big-key"] = binary(b"b-1", b"K" * 70000, b"{}", "KpiMeasured")
    seeds["hostile-protobuf-garbage"] = binary(b"p-1", b"INC-MTTR", b"\x0a\xff\xff\xff\xff\x0f", "KpiMeasured", content=1)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
