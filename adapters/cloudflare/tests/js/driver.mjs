// SPDX-License-Identifier: Apache-2.0
// Runs a generated Python Worker (dist/cloudflare/src/entry.py) on real Pyodide in Node, with
// Cloudflare's real `workers` SDK (PyPI workers-runtime-sdk) unpacked into Pyodide's filesystem.
//
// Protocol: JSON lines. The first line on stdin is the setup
//   {"sdkDir": host dir holding the unpacked wheel, "srcDir": host dir of the worker's src/,
//    "entry": "entry", "producers": {"BINDING": "queue-name"}, "vars": {...}, "kv": {"BINDING": {key: value}}}
// answered by {"ready": true, "load_ms": ...}. Every following line is one command, answered by
// one line: fetch, scheduled, queue, exec (run Python source), bench. See handle() below.
//
// Everything the Workers runtime provides is real here except two modules, which workerd
// injects into Pyodide itself and which no package ships; they are the only shims:
//   _pyodide_entrypoint_helper  (workerd src/pyodide/internal/...: the `cloudflare:workers`
//                                module, dynamic import, waitUntil patching)
//   _cloudflare_compat_flags    (compatibility flags of the Worker, as workerd exposes them)
// The runtime objects handed to the entrypoint (ExecutionContext, ScheduledController,
// MessageBatch, Message, WorkerQueue producer) are small JS classes below that record calls,
// named as workerd names them because the SDK dispatches on `constructor.name`.
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";
import { loadPyodide } from "pyodide";

const require = createRequire(import.meta.url);
const INDEX_URL = path.dirname(require.resolve("pyodide/package.json")) + path.sep;

// --- runtime objects -------------------------------------------------------------------------

class ExecutionContext {
  constructor() { this.pending = []; }
  waitUntil(p) { this.pending.push(Promise.resolve(p)); }
  passThroughOnException() {}
}

class ScheduledController {
  constructor(cron, scheduledTime) {
    this.cron = cron;
    this.scheduledTime = scheduledTime;
    this.type = "scheduled";
    this.noRetryCalled = false;
  }
  noRetry() { this.noRetryCalled = true; }
}

class Message {
  constructor(spec, calls) {
    this.id = spec.id;
    this.timestamp = new Date(spec.timestamp);
    // A body sent with contentType "bytes" arrives as an ArrayBuffer; one sent with "v8" is
    // any structured-clone value (Date, Map, typed arrays...), given here as a JS expression.
    if (spec.body_b64 !== undefined) this.body = new Uint8Array(Buffer.from(spec.body_b64, "base64")).buffer;
    else if (spec.body_js !== undefined) this.body = structuredClone(new Function(`return (${spec.body_js});`)());
    else this.body = spec.body;
    this.attempts = spec.attempts ?? 1;
    this._calls = calls;
  }
  ack() { this._calls.push({ id: this.id, op: "ack" }); }
  retry(options) {
    const opts = options ? { ...options } : {};
    this._calls.push({ id: this.id, op: "retry", options: opts });
  }
}

class MessageBatch {
  constructor(queue, specs, calls) {
    this.queue = queue;
    this.messages = specs.map((s) => new Message(s, calls));
    this._calls = calls;
  }
  ackAll() { this._calls.push({ id: "*", op: "ackAll" }); }
  retryAll(options) { this._calls.push({ id: "*", op: "retryAll", options: options ?? {} }); }
}

// A Queue producer binding; workerd's class is named WorkerQueue (the SDK's _EnvWrapper list).
// A body is serialized as workerd's WorkerQueue::send does (src/workerd/api/queue.c++,
// serialize()): "json" through JSON.stringify (so a BigInt throws, as it does there), "text"
// only a string, "bytes" only binary, "v8" (or no contentType) by structured clone.
class WorkerQueue {
  constructor(name, sent) { this.name = name; this._sent = sent; }
  async send(body, options) {
    this._sent.push({ queue: this.name, body: wire(body, options?.contentType), options: plain(options ?? {}) });
  }
  async sendBatch(messages) {
    for (const m of messages) {
      this._sent.push({ queue: this.name, body: wire(m.body, m.contentType), options: plain({ ...m, body: undefined }) });
    }
  }
}

// A KV namespace binding (workerd's class is KvNamespace, which the SDK wraps): get() only.
class KvNamespace {
  constructor(data) { this._data = data; }
  async get(key) { return this._data[key] ?? null; }
}

function wire(body, contentType) {
  if (body === undefined) throw new TypeError("Message body cannot be undefined");
  const type = contentType === undefined ? "v8" : String(contentType).toLowerCase();
  if (type === "json") return JSON.parse(JSON.stringify(body));
  if (type === "text" && typeof body !== "string") {
    throw new TypeError(`Content Type "text" requires a value of type string, but received: ${typeof body}`);
  }
  if (type === "bytes" && !(ArrayBuffer.isView(body) || body instanceof ArrayBuffer)) {
    throw new TypeError(`Content Type "bytes" requires a value of type ArrayBufferView, but received: ${typeof body}`);
  }
  if (!["json", "text", "bytes", "v8"].includes(type)) {
    throw new TypeError(`Unsupported queue message content type: ${contentType}`);
  }
  return plain(body);
}

// Structured clone is what Queues apply to a body; it also detaches values from Python proxies.
function plain(v) {
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
    return { $bytes: Buffer.from(v instanceof ArrayBuffer ? new Uint8Array(v) : v).toString("base64") };
  }
  return structuredClone(v);
}

// --- setup -----------------------------------------------------------------------------------

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const lines = rl[Symbol.asyncIterator]();
// A BigInt (a v8 body may hold one) goes back tagged, as JSON has no such number.
const tagBigInt = (_key, v) => (typeof v === "bigint" ? { $bigint: v.toString() } : v);
const out = (obj) => process.stdout.write(JSON.stringify(obj, tagBigInt) + "\n");

const setup = JSON.parse((await lines.next()).value);
const t0 = performance.now();
const pyodide = await loadPyodide({ indexURL: INDEX_URL, stdout: (s) => process.stderr.write(s + "\n") });
const loadMs = performance.now() - t0;

pyodide.FS.mkdirTree("/session/sdk");
pyodide.FS.mkdirTree("/session/src");
pyodide.mountNodeFS("/session/sdk", setup.sdkDir);
if (setup.srcDir) pyodide.mountNodeFS("/session/src", setup.srcDir);

const sent = [];
const env = {};
for (const [binding, queue] of Object.entries(setup.producers ?? {})) env[binding] = new WorkerQueue(queue, sent);
for (const [k, v] of Object.entries(setup.vars ?? {})) env[k] = v;
for (const [k, data] of Object.entries(setup.kv ?? {})) env[k] = new KvNamespace(data);

// Shim 1 of 2: what workerd's Python entrypoint helper exposes to the SDK.
pyodide.registerJsModule("_pyodide_entrypoint_helper", {
  cloudflareWorkersModule: { env, waitUntil: (p) => p },
  cloudflareSocketsModule: {},
  doAnImport: (name) => import(name),
  patchWaitUntil: (_ctx) => {},
  patch_env_helper: () => { throw new Error("patch_env is not shimmed"); },
});
// Shim 2 of 2: compatibility flags (a Worker with a current compatibility date has both).
pyodide.registerJsModule("_cloudflare_compat_flags", {
  python_workflows_implicit_dependencies: true,
  python_request_headers_preserve_commas: true,
});

pyodide.runPython(`
import sys
sys.path[:0] = ["/session/src", "/session/sdk"]
`);

// Modules loaded before the entry: the baseline for "what importing the entry pulls in".
const snapshot = () => pyodide.runPython("import sys; sorted(sys.modules)").toJs();
const baseline = new Set(snapshot());
let entryMs = null;
let Default = null;
let entryModules = [];
// Optionally import some modules first (timed apart), e.g. the SDK, to split the entry's cost.
const preloadMs = {};
for (const name of setup.preload ?? []) {
  const t = performance.now();
  pyodide.pyimport(name);
  preloadMs[name] = performance.now() - t;
}
if (setup.entry) {
  const t1 = performance.now();
  const mod = pyodide.pyimport(setup.entry);
  entryMs = performance.now() - t1;
  Default = mod.Default;
  entryModules = snapshot().filter((m) => !baseline.has(m));
}
const toWorkersRequest = setup.entry ? pyodide.pyimport("workers").Request : null;

out({
  ready: true,
  load_ms: loadMs,
  entry_import_ms: entryMs,
  preload_ms: preloadMs,
  entry_modules: entryModules,
  baseline_modules: [...baseline],
  pyodide: pyodide.version,
});

// --- commands --------------------------------------------------------------------------------

function instance(ctx) {
  // workerd constructs the entrypoint class per invocation with (ctx, env).
  return Default(ctx, env);
}

async function responseOf(result) {
  // The runtime unwraps the SDK's Python Response to the JS Response it holds.
  const js = result && result.js_object !== undefined ? result.js_object : result;
  const body = Buffer.from(await js.arrayBuffer()).toString("base64");
  const headers = [];
  js.headers.forEach((v, k) => { if (k !== "set-cookie") headers.push([k, v]); });
  for (const c of js.headers.getSetCookie()) headers.push(["set-cookie", c]);
  return { status: js.status, headers, body_b64: body };
}

function makeRequest(cmd) {
  const init = { method: cmd.method ?? "GET", headers: cmd.headers ?? [] };
  if (cmd.body_b64 !== undefined && cmd.body_b64 !== null) init.body = Buffer.from(cmd.body_b64, "base64");
  if (cmd.chunks_b64 !== undefined) {
    // A streamed body (chunked upload): a ReadableStream the Worker reads chunk by chunk.
    const chunks = cmd.chunks_b64.map((c) => new Uint8Array(Buffer.from(c, "base64")));
    init.body = new ReadableStream({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 1));  // each chunk arrives on a later turn
        if (chunks.length) controller.enqueue(chunks.shift());
        else controller.close();
      },
    });
    init.duplex = "half";
  }
  return new Request(cmd.url, init);
}

async function doFetch(cmd) {
  const ctx = new ExecutionContext();
  // The runtime hands the default entrypoint the SDK's Request wrapping the JS Request.
  const req = toWorkersRequest(makeRequest(cmd));
  const result = await instance(ctx).fetch(req);
  await Promise.all(ctx.pending);
  const resp = await responseOf(result);
  return { ...resp, sent: sent.splice(0) };
}

async function doScheduled(cmd) {
  const ctx = new ExecutionContext();
  const controller = new ScheduledController(cmd.cron, cmd.scheduledTime);
  let error = null;
  try {
    await instance(ctx).scheduled(controller, env, ctx);
    await Promise.all(ctx.pending);
  } catch (e) {
    error = String(e.message ?? e).split("\n").slice(-2).join(" ");
  }
  return { error, noRetry: controller.noRetryCalled, sent: sent.splice(0) };
}

async function doQueue(cmd) {
  const ctx = new ExecutionContext();
  const calls = [];
  const batch = new MessageBatch(cmd.queue, cmd.messages, calls);
  let error = null;
  try {
    await instance(ctx).queue(batch, env, ctx);
    await Promise.all(ctx.pending);
  } catch (e) {
    error = String(e.message ?? e).split("\n").slice(-2).join(" ");
  }
  return { calls, error, sent: sent.splice(0) };
}

async function doExec(cmd) {
  const t = performance.now();
  const value = await pyodide.runPythonAsync(cmd.code);
  const ms = performance.now() - t;
  const result = value && typeof value.toJs === "function" ? value.toJs({ dict_converter: Object.fromEntries }) : value;
  return { result, ms };
}

// Time `number` fetches of the same request, for the benchmark; `kind` picks the class.
async function doBench(cmd) {
  const cls = cmd.module ? pyodide.pyimport(cmd.module)[cmd.className ?? "Default"] : Default;
  const timings = [];
  let last = null;
  for (let r = 0; r < (cmd.rounds ?? 1); r++) {
    const t = performance.now();
    for (let i = 0; i < cmd.number; i++) {
      const ctx = new ExecutionContext();
      const result = await cls(ctx, env).fetch(toWorkersRequest(makeRequest(cmd)));
      const js = result.js_object ?? result;
      last = { status: js.status, body: new TextDecoder().decode(await js.arrayBuffer()) };
    }
    timings.push(((performance.now() - t) * 1000) / cmd.number);
  }
  return { us_per_call: timings, last };
}

const handlers = { fetch: doFetch, scheduled: doScheduled, queue: doQueue, exec: doExec, bench: doBench };

for await (const line of lines) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  try {
    out({ ok: true, ...(await handlers[cmd.op](cmd)) });
  } catch (e) {
    out({ ok: false, error: String(e && e.message ? e.message : e) });
  }
}
