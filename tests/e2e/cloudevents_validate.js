// Validates Kafka records as CloudEvents 1.0 with the CloudEvents JS SDK (npm `cloudevents`,
// installed by ops/install-deps.sh into ops/tools/node_modules): its Kafka binding reads each
// record (binary or structured mode) and checks every attribute against the spec's JSON schema
// (required attributes, specversion, `dataschema` an absolute URI, `time` RFC 3339, …).
//
// Usage: node cloudevents_validate.js NODE_MODULES RECORDS.json
// RECORDS.json: [{"topic", "key", "headers": {name: value}, "value_base64"}, …]
// Prints one line per record that fails and a summary; exits 1 if any record fails or none came.
"use strict";
const path = require("path");
const fs = require("fs");

const nodeModules = path.resolve(process.argv[2]);
const recordsFile = process.argv[3];
const { Kafka, CloudEvent } = require(path.join(nodeModules, "cloudevents"));

const records = JSON.parse(fs.readFileSync(recordsFile, "utf8"));
let bad = 0;
const types = {};
for (const r of records) {
  const body = Buffer.from(r.value_base64, "base64");
  const message = { key: r.key, headers: r.headers, body, value: body, timestamp: "0" };
  const where = `${r.topic} ${r.headers.ce_id || "(no ce_id)"}`;
  try {
    if (!Kafka.isEvent(message)) throw new Error("not recognised as a CloudEvent");
    const event = Kafka.toEvent(message);  // strict: validates while it builds
    if (!(event instanceof CloudEvent)) throw new Error("not one event");
    event.validate();
    if (event.specversion !== "1.0") throw new Error("specversion " + event.specversion);
    types[event.type] = (types[event.type] || 0) + 1;
  } catch (err) {
    bad++;
    // A ValidationError's message already carries the schema errors.
    console.log(`INVALID ${where}: ${err.message.replace(/\s+/g, " ")}`);
  }
}
console.log(`cloudevents ${require(path.join(nodeModules, "cloudevents/package.json")).version}: ` +
            `${records.length - bad} of ${records.length} records valid ${JSON.stringify(types)}`);
process.exit(bad > 0 || records.length === 0 ? 1 : 0);
