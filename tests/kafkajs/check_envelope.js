// Reads a table topic with KafkaJS (pure JavaScript: no librdkafka, no code shared with modsync)
// and checks every message field by field against the event format of Debezium's PostgreSQL
// connector with the JSON converter and schemas disabled (value.converter.schemas.enable=false):
//
//   key    {"<pk column>": value, ...}                      (null for truncate)
//   value  {"before": {...}|null, "after": {...}|null,
//           "source": {"version", "connector", "name", "ts_ms", "snapshot", "db", "schema",
//                      "table", "txId", "lsn", ...},
//           "op": "c"|"u"|"d"|"r"|"t", "ts_ms": <ms>, "transaction": null|{...}}
//   after each delete, a tombstone: the same key with a null value, on the same partition.
//
// Where modsync knowingly differs from Debezium (docs/events.md, "Debezium compatibility"), the
// difference is checked as documented rather than ignored: connector is "modsync" (Debezium:
// "postgresql"); there is no "sequence" or "xmin" in source and no "transaction" block; source
// carries "module", "position" and "schema_version"; "unchanged" lists unchanged TOASTed columns.
//
// With envelope "schema_payload" (kafka.envelope), each key and value must be Kafka Connect's
// JsonConverter form with schemas.enable=true, {"schema": ..., "payload": ...}: the schema a
// struct named <topic>.Key / <topic>.Envelope (before/after <topic>.Value, source
// io.debezium.connector.postgresql.Source), and every payload field of the type its schema
// says (int16/int32/int64 integers in range, float32/float64 numbers, boolean, string, bytes as
// base64, arrays, structs, null only where optional; the semantic types Debezium uses:
// io.debezium.time.Date an int32, Decimal base64 bytes with a scale parameter, …). The checks
// above then apply to the payload. With values "debezium" (source.value_mode), source must say
// value_mode "debezium".
//
// Usage: node check_envelope.js <brokers> <topic> <messages> <timeout-ms> [plain|schema_payload]
//        [modsync|debezium]
// Prints one JSON line {"messages": N, "tombstones": T, "ops": {...}, "values": [...],
// "fields": {<after field>: {type, name, parameters}}} and exits 0, or prints the problems on
// stderr and exits 1.

'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [brokers, topic, wantText, timeoutText, envelopeArg, valuesArg] = process.argv.slice(2);
const envelope = envelopeArg || 'plain';
const valueMode = valuesArg || 'modsync';
const want = Number(wantText);
const timeoutMs = Number(timeoutText || 30000);

const problems = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v) => typeof v === 'number' && Number.isInteger(v);

const kTopFields = new Set(['before', 'after', 'source', 'op', 'ts_ms', 'transaction', 'unchanged']);
const kSourceFields = {
  version: (v) => typeof v === 'string' && v.length > 0,
  connector: (v) => v === 'modsync',
  name: (v) => typeof v === 'string' && v.length > 0,
  ts_ms: isInt,
  snapshot: (v) => ['true', 'false', 'last', 'incremental'].includes(v),
  db: (v) => typeof v === 'string' && v.length > 0,
  schema: (v) => typeof v === 'string' && v.length > 0,
  table: (v) => typeof v === 'string' && v.length > 0,
  txId: (v) => v === null || isInt(v),
  lsn: (v) => v === null || isInt(v),
};
const kModsyncSourceFields = {
  module: (v) => typeof v === 'string',
  position: (v) => typeof v === 'string' && /^[0-9A-F]+\/[0-9A-F]+#[0-9]+$/.test(v),
  schema_version: isInt,
  value_mode: (v) => (valueMode === 'debezium' ? v === 'debezium' : v === undefined),
};

// Kafka Connect's JSON schema form, checked against a payload value.
const kIntRange = {
  int8: 2 ** 7,
  int16: 2 ** 15,
  int32: 2 ** 31
};
const isBase64 = (v) => typeof v === 'string' &&
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v);
const kSemantic = {
  'io.debezium.time.Date': 'int32',
  'io.debezium.time.Time': 'int32',
  'io.debezium.time.MicroTime': 'int64',
  'io.debezium.time.Timestamp': 'int64',
  'io.debezium.time.MicroTimestamp': 'int64',
  'io.debezium.time.ZonedTimestamp': 'string',
  'io.debezium.time.ZonedTime': 'string',
  'io.debezium.data.Json': 'string',
  'io.debezium.data.Uuid': 'string',
  'org.apache.kafka.connect.data.Decimal': 'bytes',
  'io.debezium.data.VariableScaleDecimal': 'struct',
};
// Values a Debezium form cannot carry stay strings of their text (docs/events.md, "Value modes").
const kKeptText = /^(-?infinity|NaN|-?Infinity|\d{6,}-\d\d-\d\dT.*)$/;

function checkSchema(where, schema, value) {
  if (!isObject(schema) || typeof schema.type !== 'string') {
    fail(where, `schema ${JSON.stringify(schema)} has no type`);
    return;
  }
  if (typeof schema.optional !== 'boolean') fail(where, 'schema without "optional"');
  if (schema.name in kSemantic && kSemantic[schema.name] !== schema.type) {
    fail(where, `${schema.name} must be ${kSemantic[schema.name]}, is ${schema.type}`);
  }
  if (schema.name === 'org.apache.kafka.connect.data.Decimal' &&
      !(isObject(schema.parameters) && /^-?\d+$/.test(schema.parameters.scale))) {
    fail(where, 'a Decimal schema without parameters.scale');
  }
  if (value === null || value === undefined) {
    if (!schema.optional) fail(where, `null for a required ${schema.type}`);
    return;
  }
  const bad = () => fail(
      where,
      `${JSON.stringify(value).slice(0, 80)} is not a ${schema.type}` +
          (schema.name ? ` (${schema.name})` : ''));
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
      if (!isInt(value) || value < -kIntRange[schema.type] || value >= kIntRange[schema.type]) {
        if (!(schema.name && kKeptText.test(value))) bad();
      }
      break;
    case 'int64':
      if (!isInt(value) && !(schema.name && kKeptText.test(value))) bad();
      break;
    case 'float32':
    case 'float64':
      if (typeof value !== 'number' && !['NaN', 'Infinity', '-Infinity'].includes(value)) bad();
      break;
    case 'boolean':
      if (typeof value !== 'boolean') bad();
      break;
    case 'string':
      if (typeof value !== 'string') bad();
      break;
    case 'bytes':
      if (!isBase64(value) && !kKeptText.test(value)) bad();
      break;
    case 'array':
      if (!Array.isArray(value)) {
        bad();
        break;
      }
      value.forEach((e, i) => checkSchema(`${where}[${i}]`, schema.items, e));
      break;
    case 'struct': {
      if (!isObject(value)) {
        if (!(schema.name === 'io.debezium.data.VariableScaleDecimal' && kKeptText.test(value)))
          bad();
        break;
      }
      if (!Array.isArray(schema.fields)) {
        fail(where, 'a struct schema without fields');
        break;
      }
      const names = new Set();
      for (const f of schema.fields) {
        names.add(f.field);
        checkSchema(`${where}.${f.field}`, f, value[f.field]);
      }
      for (const k of Object.keys(value))
        if (!names.has(k)) fail(where, `field "${k}" has no schema`);
      break;
    }
    default:
      fail(where, `unknown Connect type ${schema.type}`);
  }
}

// Checks the {"schema", "payload"} wrapping and returns the payload.
function unwrap(where, wrapped, name) {
  if (!isObject(wrapped) || !('schema' in wrapped) || !('payload' in wrapped) ||
      Object.keys(wrapped).length !== 2) {
    fail(where, 'not {"schema": …, "payload": …}');
    return wrapped;
  }
  const {schema, payload} = wrapped;
  if (schema.type !== 'struct' || schema.name !== name) {
    fail(where, `schema is ${schema.type} ${schema.name}, expected struct ${name}`);
  }
  if (name.endsWith('.Envelope')) {
    const byField = Object.fromEntries((schema.fields || []).map((f) => [f.field, f]));
    for (const f of ['before', 'after']) {
      if (!byField[f] || byField[f].name !== `${topic}.Value`)
        fail(where, `${f} is not ${topic}.Value`);
    }
    if (!byField.source || byField.source.name !== 'io.debezium.connector.postgresql.Source') {
      fail(where, 'source is not io.debezium.connector.postgresql.Source');
    }
    if (byField.after) lastFields = byField.after.fields;
  }
  checkSchema(where, schema, payload);
  return payload;
}
let lastFields = [];

function checkChange(where, key, value) {
  for (const field of Object.keys(value)) {
    if (!kTopFields.has(field)) fail(where, `unexpected top-level field "${field}"`);
  }
  for (const field of ['before', 'after', 'source', 'op', 'ts_ms']) {
    if (!(field in value)) fail(where, `missing "${field}"`);
  }
  const { before, after, source, op } = value;
  if (!isInt(value.ts_ms)) fail(where, 'ts_ms is not an integer');
  if (before !== null && !isObject(before)) fail(where, 'before is neither an object nor null');
  if (after !== null && !isObject(after)) fail(where, 'after is neither an object nor null');
  const shapes = {
    c: before === null && isObject(after),
    r: before === null && isObject(after),
    u: isObject(after),
    d: isObject(before) && after === null,
    t: before === null && after === null,
  };
  if (!(op in shapes)) fail(where, `op "${op}" is none of c, u, d, r, t`);
  else if (!shapes[op]) fail(where, `before/after do not have the shape of op "${op}"`);
  if (!isObject(source)) {
    fail(where, 'source is not an object');
    return op;
  }
  for (const [field, ok] of Object.entries({ ...kSourceFields, ...kModsyncSourceFields })) {
    if (!ok(source[field])) fail(where, `source.${field} is ${JSON.stringify(source[field])}`);
  }
  for (const field of Object.keys(source)) {
    if (!(field in kSourceFields) && !(field in kModsyncSourceFields)) {
      fail(where, `unexpected source field "${field}"`);
    }
  }
  if (topic !== `${source.name}.${source.schema}.${source.table}`) {
    fail(where, `topic ${topic} is not <name>.<schema>.<table> of source`);
  }
  if (op === 'r' && source.snapshot === 'false') fail(where, 'a read event with snapshot "false"');
  if ('cud'.includes(op) && source.snapshot !== 'false') {
    fail(where, `a streamed event with snapshot "${source.snapshot}"`);
  }
  if ('cud'.includes(op) && !isInt(source.txId)) fail(where, 'a streamed event without txId');
  if ('unchanged' in value && !Array.isArray(value.unchanged)) fail(where, 'unchanged is not a list');
  // The key holds the row's key columns, with the row's values.
  if (op === 't') {
    if (key !== null) fail(where, 'a truncate event with a key');
  } else {
    const row = op === 'd' ? before : after;
    if (!isObject(key) || Object.keys(key).length === 0) {
      fail(where, 'no key object');
    } else if (isObject(row)) {
      for (const [k, v] of Object.entries(key)) {
        if (JSON.stringify(row[k]) !== JSON.stringify(v)) {
          fail(where, `key field ${k}=${JSON.stringify(v)} but the row has ${JSON.stringify(row[k])}`);
        }
      }
    }
  }
  return op;
}

async function main() {
  const kafka = new Kafka({
    clientId: 'modsync-kafkajs-check',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  const consumer = kafka.consumer({ groupId: `kafkajs-check-${process.pid}`, sessionTimeout: 6000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages = [];
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages.push({ partition, offset: Number(message.offset), key: message.key, value: message.value,
        headers: message.headers || {} });
      if (messages.length >= want) done();
    },
  });
  const timer = setTimeout(done, timeoutMs);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();

  if (messages.length !== want) fail(topic, `read ${messages.length} messages, expected ${want}`);
  messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const ops = {};
  const values = [];
  let tombstones = 0;
  let previous = null;
  for (const m of messages) {
    const where = `${topic}[${m.partition}]@${m.offset}`;
    let key = null;
    if (m.key !== null) {
      try { key = JSON.parse(m.key.toString('utf8')); } catch (e) { fail(where, `key is not JSON: ${e}`); }
      if (envelope === 'schema_payload') key = unwrap(`${where} key`, key, `${topic}.Key`);
    }
    if (m.value === null) {
      ++tombstones;
      // A tombstone follows its delete on the same partition, with the same key.
      const follows = previous && previous.partition === m.partition && previous.offset === m.offset - 1 &&
        previous.op === 'd' && previous.keyText === (m.key && m.key.toString('utf8'));
      if (!follows) fail(where, 'a tombstone that does not follow a delete of the same key');
      if (Object.keys(m.headers).length !== 0) fail(where, 'a tombstone with headers');
      previous = { partition: m.partition, offset: m.offset, op: null };
      continue;
    }
    let value;
    try { value = JSON.parse(m.value.toString('utf8')); } catch (e) {
      fail(where, `value is not JSON: ${e}`);
      continue;
    }
    if (envelope === 'schema_payload') value = unwrap(where, value, `${topic}.Envelope`);
    if (!isObject(value)) {
      fail(where, 'value is not an object');
      continue;
    }
    const op = checkChange(where, key, value);
    if (op === 'd' && previous && previous.op === 'd' && previous.partition === m.partition) {
      fail(where, 'two deletes in a row on one partition without a tombstone between');
    }
    ops[op] = (ops[op] || 0) + 1;
    values.push(value);
    previous = { partition: m.partition, offset: m.offset, op, keyText: m.key && m.key.toString('utf8') };
  }
  // A delete must not be the last message of its partition: its tombstone comes after it.
  if (previous && previous.op === 'd') fail(topic, 'the last delete has no tombstone');
  if (problems.length) {
    process.stderr.write(problems.join('\n') + '\n');
    process.exit(1);
  }
  const fields = Object.fromEntries(lastFields.map(
      (f) => [f.field, {type: f.type, name: f.name || '', parameters: f.parameters || {}}]));
  process.stdout.write(
      JSON.stringify({messages: messages.length, tombstones, ops, values, fields}) + '\n');
}

main().catch((e) => {
  process.stderr.write(`check_envelope: ${e.stack || e}\n`);
  process.exit(2);
});
