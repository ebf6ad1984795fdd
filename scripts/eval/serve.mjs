// An OpenAI-compatible `/v1/chat/completions` over node-llama-cpp (CPU, prebuilt linux-x64 binaries), for
// scripts/chat-eval.sh: streams chunks ending in `data: [DONE]`, follows `response_format: json_schema` as a
// grammar (constrained decoding), reports token usage. One request at a time; loopback only. Not used by CI.
import http from "node:http";
import os from "node:os";
import { getLlama, LlamaChatSession } from "node-llama-cpp";

const [modelPath, port = "8181"] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node serve.mjs MODEL.gguf [PORT]");
  process.exit(2);
}
const llama = await getLlama({ gpu: false });
const model = await llama.loadModel({ modelPath });
// One thread per core: node-llama-cpp's default (more threads than cores here) made every token seconds slower.
const context = await model.createContext({ contextSize: 4096, threads: os.availableParallelism() });
const grammars = new Map();

// The JSON-schema subset node-llama-cpp's grammar builder reads: no descriptions or `additionalProperties`.
function grammarSchema(s) {
  if (Array.isArray(s)) return s.map(grammarSchema);
  if (s && typeof s === "object") {
    const out = {};
    for (const [k, v] of Object.entries(s)) {
      if (k === "description" || k === "additionalProperties") continue;
      out[k] = k === "properties" ? Object.fromEntries(Object.entries(v).map(([n, p]) => [n, grammarSchema(p)])) : grammarSchema(v);
    }
    return out;
  }
  return s;
}

async function grammarFor(schema) {
  const key = JSON.stringify(schema);
  if (!grammars.has(key)) grammars.set(key, await llama.createGrammarForJsonSchema(grammarSchema(schema)));
  return grammars.get(key);
}

function read(req) {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

async function answer(body, res) {
  const messages = body.messages || [];
  const system = messages.filter((m) => m.role === "system").map((m) => m.content).join("\n");
  const rest = messages.filter((m) => m.role !== "system");
  const last = rest.pop();
  const history = [{ type: "system", text: system }];
  for (const m of rest) history.push(m.role === "user" ? { type: "user", text: m.content } : { type: "model", response: [m.content] });
  const sequence = context.getSequence();
  const session = new LlamaChatSession({ contextSequence: sequence });
  session.setChatHistory(history);
  const schema = body.response_format && body.response_format.json_schema && body.response_format.json_schema.schema;
  const grammar = schema ? await grammarFor(schema) : undefined;
  const before = sequence.tokenMeter.getState();
  const id = `chatcmpl-${Date.now()}`;
  const send = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
  res.writeHead(200, { "content-type": "text/event-stream" });
  try {
    await session.prompt(last ? last.content : "", {
      grammar,
      maxTokens: body.max_tokens || 1024,
      temperature: 0,
      onTextChunk: (text) => send({ id, object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: text }, finish_reason: null }] }),
    });
    const used = sequence.tokenMeter.diff(before);
    send({ id, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    send({ id, object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: used.usedInputTokens, completion_tokens: used.usedOutputTokens } });
    res.write("data: [DONE]\n\n");
  } finally {
    res.end();
    session.dispose();
    sequence.dispose();
  }
}

let queue = Promise.resolve();
http
  .createServer(async (req, res) => {
    if (req.method === "GET" && req.url === "/health") return res.end("ok");
    if (req.method !== "POST" || !req.url.startsWith("/v1/chat/completions")) {
      res.statusCode = 404;
      return res.end();
    }
    const body = JSON.parse(await read(req));
    queue = queue.then(() => answer(body, res)).catch((e) => {
      console.error(e);
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(e) } }));
    });
  })
  .listen(Number(port), "127.0.0.1", () => console.log(`serving ${modelPath} on http://127.0.0.1:${port}`));
