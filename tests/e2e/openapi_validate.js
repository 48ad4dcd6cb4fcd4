// Checks recorded HTTP responses of a live cird against ops/openapi.yaml: each response's status
// must be in its operation's contract, its media type among the documented ones, its required
// headers present, and its body valid against the documented schema (ajv, JSON Schema 2020-12,
// the dialect of OpenAPI 3.1). Every operation must have been seen answering with success.
//
// Usage: node openapi_validate.js NODE_MODULES OPENAPI.yaml RESPONSES.json
// RESPONSES.json: [{"method", "path" (with query), "status", "content_type", "headers", "body"}]
// Prints each failure and a summary; exits 1 on any failure.
"use strict";
const fs = require("fs");
const path = require("path");

const nodeModules = path.resolve(process.argv[2]);
const [docFile, responsesFile] = process.argv.slice(3);
const YAML = require(path.join(nodeModules, "yaml"));
const Ajv2020 = require(path.join(nodeModules, "ajv/dist/2020")).default;
const addFormats = require(path.join(nodeModules, "ajv-formats")).default;

const doc = YAML.parse(fs.readFileSync(docFile, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "openapi.json");

const pointer = (parts) =>
  "openapi.json#/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

// Follows a `$ref` to components (responses, headers), returning [object, pointer parts].
function resolve(node, parts) {
  while (node && node.$ref) {
    parts = node.$ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    node = parts.reduce((n, p) => n[p], doc);
  }
  return [node, parts];
}

// The path template a concrete path matches ("/v1/initiatives/CSAT" -> "/v1/initiatives/{id}").
function template(concrete) {
  for (const t of Object.keys(doc.paths)) {
    const re = new RegExp("^" + t.replace(/\{[^}]+\}/g, "[^/]+") + "$");
    if (re.test(concrete)) return t;
  }
  return null;
}

const validators = new Map();
function validator(parts) {
  const key = parts.join("/");
  if (!validators.has(key)) validators.set(key, ajv.compile({ $ref: pointer(parts) }));
  return validators.get(key);
}

const responses = JSON.parse(fs.readFileSync(responsesFile, "utf8"));
const failures = [];
const succeeded = new Set();
const statuses = new Set();
for (const r of responses) {
  try {
    check(r);
  } catch (err) {
    failures.push(`${r.method} ${r.path} -> ${r.status}: ${err.message}`);
  }
}

function check(r) {
  const where = `${r.method} ${r.path} -> ${r.status}`;
  const fail = (why) => failures.push(`${where}: ${why}`);
  const concrete = r.path.split("?")[0];
  const t = template(concrete);
  if (t === null) {
    // Paths outside the contract get the JSON error of any route.
    if (r.status !== 404) fail("a path outside the contract answered other than 404");
    else if (!validator(["components", "schemas", "Error"])(JSON.parse(r.body))) fail("not an Error body");
    return;
  }
  const item = doc.paths[t];
  let opMethod = r.method.toLowerCase();
  let operation = item[opMethod];
  let opName = `${r.method} ${t}`;
  if (!operation) {
    // Another method on a documented path: the 405 every operation of the path documents.
    if (r.status !== 405) { fail("an undocumented method answered other than 405"); return; }
    const first = Object.keys(item).find((m) => ["get", "post", "put", "delete", "patch"].includes(m));
    operation = item[first];
    opMethod = first;
    opName = `${first.toUpperCase()} ${t}`;
  }
  const responseRef = operation.responses[String(r.status)];
  if (!responseRef) { fail(`status not in the contract of ${operation.operationId}`); return; }
  statuses.add(`${operation.operationId} ${r.status}`);
  const [response, parts] = resolve(responseRef, ["paths", t, opMethod, "responses", String(r.status)]);
  for (const [name, headerRef] of Object.entries(response.headers || {})) {
    const [header] = resolve(headerRef, []);
    if (header.required && !(name.toLowerCase() in r.headers)) fail(`required header ${name} missing`);
  }
  const media = (r.content_type || "").split(";")[0].trim().toLowerCase();
  if (!response.content || !(media in response.content)) {
    fail(`media type '${media}' not documented (${Object.keys(response.content || {})})`);
    return;
  }
  const schemaParts = [...parts, "content", media, "schema"];
  let body = r.body;
  if (media === "application/json") {
    try {
      body = JSON.parse(r.body);
    } catch (err) {
      fail("body is not JSON: " + err.message);
      return;
    }
  }
  const validate = validator(schemaParts);
  if (!validate(body)) {
    fail("body does not match " + schemaParts.join("/") + ": " + ajv.errorsText(validate.errors));
    return;
  }
  if (r.status < 300 && r.method.toLowerCase() in item) succeeded.add(opName);
}
const operations = [];
for (const [t, item] of Object.entries(doc.paths)) {
  for (const m of Object.keys(item)) {
    if (["get", "post", "put", "delete", "patch"].includes(m)) operations.push(`${m.toUpperCase()} ${t}`);
  }
}
for (const op of operations) if (!succeeded.has(op)) failures.push(`${op}: never seen answering with success`);
for (const f of failures) console.log("FAIL " + f);
console.log(`openapi: ${responses.length} live responses checked against ${docFile}; ` +
            `${succeeded.size} of ${operations.length} operations seen succeeding; ` +
            `${statuses.size} (operation, status) pairs; ${failures.length} failures`);
process.exit(failures.length > 0 ? 1 : 0);
