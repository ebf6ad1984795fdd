// The AI chat, on its own page (/chat/{dataset}) and as a panel on dashboards: asks over server-sent events
// (a POST, so read from the fetch body rather than EventSource), shows the SQL and summary as the model writes
// them, then the answer: SQL (editable and re-runnable where the role allows), a paged table, a chart and a
// CSV link; thumbs up or down per answer; earlier conversations on the page.
(function () {
  "use strict";
  const templates = JSON.parse((document.getElementById("plotly-templates") || {}).textContent || "{}");
  const plotConfig = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  const PAGE = 10;

  const { el, theme } = window.Lantern;
  function icon(name) {
    const paths = {
      up: '<path d="M7 11v9H4v-9z"/><path d="M7 11l4-7a2 2 0 0 1 3 2l-1 4h5a2 2 0 0 1 2 2.3l-1.2 6A2 2 0 0 1 16.8 20H7"/>',
      down: '<path d="M7 13V4H4v9z"/><path d="M7 13l4 7a2 2 0 0 0 3-2l-1-4h5a2 2 0 0 0 2-2.3l-1.2-6A2 2 0 0 0 16.8 4H7"/>',
      download: '<path d="M12 4v11"/><path d="M7 10l5 5 5-5"/><path d="M5 20h14"/>',
    };
    const s = el("span", { class: "icon-wrap" });
    s.innerHTML = `<svg class="icon" viewBox="0 0 24 24" aria-hidden="true">${paths[name]}</svg>`;
    return s;
  }
  function cell(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number") return v.toLocaleString(undefined, { maximumFractionDigits: 4 });
    return String(v);
  }

  function init(root) {
    const dataset = root.dataset.dataset;
    const dashboard = root.dataset.dashboard || null;
    const csrf = root.dataset.csrf;
    const features = (root.dataset.features || "").split(" ");
    const log = root.querySelector("[data-chat-log]");
    const empty = root.querySelector("[data-chat-empty]");
    const form = root.querySelector("[data-chat-form]");
    const input = form.querySelector("textarea");
    const threadList = document.querySelector("[data-chat-threads]");
    const api = `/api/chat/${encodeURIComponent(dataset)}`;
    let thread = null;
    let busy = false;

    const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
    async function errorOf(res) {
      try { const j = await res.json(); return (j.error && j.error.message) || res.statusText; } catch (_) { return res.statusText; }
    }

    // ---- one answer --------------------------------------------------------------------------------------
    function drawChart(slot, figure) {
      if (!figure || !window.Plotly) { slot.hidden = true; return; }
      slot.hidden = false;
      const layout = Object.assign({}, figure.layout, { template: templates[theme()], height: 300, margin: { l: 56, r: 16, t: 16, b: 48 } });
      window.Plotly.react(slot, figure.data, layout, plotConfig);
    }

    function table(turn) {
      const wrap = el("div", { class: "chat-table-wrap" });
      if (!turn.columns.length) return wrap;
      let page = 0;
      const pages = Math.max(1, Math.ceil(turn.rows.length / PAGE));
      const tbl = el("table", { class: "data-table chat-table" });
      const pager = el("div", { class: "pager small" });
      function render() {
        tbl.replaceChildren(el("thead", {}, el("tr", {}, ...turn.columns.map((c) => el("th", { class: c.numeric ? "num" : null, text: c.name })))));
        const body = el("tbody");
        for (const r of turn.rows.slice(page * PAGE, page * PAGE + PAGE)) {
          body.append(el("tr", {}, ...r.map((v, i) => el("td", { class: turn.columns[i].numeric ? "num" : null, text: cell(v) }))));
        }
        tbl.append(body);
        pager.replaceChildren();
        if (pages > 1) {
          const prev = el("button", { type: "button", class: "button small-button", text: "Previous", disabled: page === 0 });
          const next = el("button", { type: "button", class: "button small-button", text: "Next", disabled: page >= pages - 1 });
          prev.onclick = () => { page--; render(); };
          next.onclick = () => { page++; render(); };
          pager.append(el("span", { class: "muted", text: `Page ${page + 1} of ${pages}` }), prev, next);
        }
      }
      render();
      wrap.append(el("div", { class: "chat-table-scroll" }, tbl), pager);
      return wrap;
    }

    function meta(turn) {
      const bits = [];
      bits.push(`${turn.row_count.toLocaleString()} row${turn.row_count === 1 ? "" : "s"}${turn.truncated ? " (cut at the limit)" : ""}`);
      if (turn.rows.length < turn.row_count) bits.push(`first ${turn.rows.length} shown`);
      bits.push(turn.duration_ms < 1000 ? `${turn.duration_ms} ms` : `${(turn.duration_ms / 1000).toFixed(1)} s`);
      const tokens = turn.input_tokens + turn.output_tokens;
      if (tokens) bits.push(`${tokens.toLocaleString()} tokens (context ${turn.context_tokens.toLocaleString()}${turn.context_left_out.length ? ", without " + turn.context_left_out.join(", ") : ""})`);
      if (turn.cost) bits.push(`$${turn.cost.toFixed(4)}`);
      if (turn.corrected) bits.push("corrected once");
      if (turn.edited) bits.push("SQL edited");
      return bits.join(" · ");
    }

    function feedbackButtons(card, turn) {
      const box = el("span", { class: "chat-feedback" });
      for (const [value, label] of [["up", "Good answer"], ["down", "Bad answer"]]) {
        const b = el("button", { type: "button", class: "icon-btn", "aria-label": label, title: label, "aria-pressed": String(turn.feedback === value), "data-feedback": value }, icon(value));
        b.onclick = async () => {
          const next = turn.feedback === value ? null : value;
          const res = await fetch(`${api}/threads/${thread}/turns/${turn.index}/feedback`, { method: "POST", headers, body: JSON.stringify({ feedback: next }) });
          if (!res.ok) return;
          turn.feedback = next;
          for (const x of box.querySelectorAll("button")) x.setAttribute("aria-pressed", String(x.dataset.feedback === next));
        };
        box.append(b);
      }
      return box;
    }

    // Fills `card` with a finished turn.
    function renderTurn(card, turn) {
      card.replaceChildren();
      card.dataset.turn = turn.index;
      if (turn.summary) card.append(el("p", { class: "chat-summary", text: turn.summary }));
      if (turn.error) card.append(el("p", { class: "chat-error", role: "alert", text: turn.error }));
      if (turn.sql) {
        const sql = el("details", { class: "chat-sql", open: !!turn.error || turn.edited });
        sql.append(el("summary", { text: turn.edited ? "SQL (edited)" : "SQL" }));
        if (features.includes("chat_sql")) {
          const area = el("textarea", { class: "mono", rows: String(Math.min(12, turn.sql.split("\n").length + 1)), "aria-label": "SQL", spellcheck: "false" });
          area.value = turn.sql;
          const run = el("button", { type: "button", class: "button small-button", "data-run": "" , text: "Run again" });
          run.onclick = async () => {
            run.disabled = true;
            run.textContent = "Running…";
            const res = await fetch(`${api}/threads/${thread}/turns/${turn.index}/run`, { method: "POST", headers, body: JSON.stringify({ sql: area.value }) });
            if (res.ok) renderTurn(card, await res.json());
            else { run.disabled = false; run.textContent = "Run again"; card.append(el("p", { class: "chat-error", text: await errorOf(res) })); }
          };
          sql.append(area, el("div", { class: "chat-sql-tools" }, run));
        } else {
          sql.append(el("pre", { class: "mono" }, el("code", { text: turn.sql })));
        }
        card.append(sql);
      }
      if (!turn.error) {
        const chart = el("div", { class: "chat-chart" });
        card.append(chart);
        if (turn.chart_error) card.append(el("p", { class: "muted small", text: turn.chart_error }));
        card.append(table(turn));
        requestAnimationFrame(() => drawChart(chart, turn.figure));
      }
      const foot = el("div", { class: "chat-meta small muted" }, el("span", { text: meta(turn) }));
      const tools = el("span", { class: "chat-tools" });
      if (!turn.error && turn.sql && features.includes("export")) {
        tools.append(el("a", { class: "icon-btn", href: `${api}/threads/${thread}/turns/${turn.index}/export.csv`, title: "Download CSV", "aria-label": "Download CSV" }, icon("download")));
      }
      tools.append(feedbackButtons(card, turn));
      foot.append(tools);
      card.append(foot);
    }

    function addQuestion(text) {
      empty.hidden = true;
      log.append(el("div", { class: "chat-q" }, el("p", { text })));
      const card = el("article", { class: "chat-a" });
      log.append(card);
      return card;
    }

    // ---- asking --------------------------------------------------------------------------------------
    async function ask(question) {
      busy = true;
      form.querySelector("button").disabled = true;
      const card = addQuestion(question);
      const status = el("p", { class: "chat-status muted small", text: "Reading the dataset…" });
      const summary = el("p", { class: "chat-summary" });
      const code = el("code");
      const sql = el("details", { class: "chat-sql", open: true }, el("summary", { text: "SQL" }), el("pre", { class: "mono" }, code));
      sql.hidden = true;
      card.append(status, summary, sql);
      card.scrollIntoView({ block: "nearest" });
      const body = { question, thread };
      if (dashboard) { body.dashboard = dashboard; body.filters = location.search.replace(/^\?/, ""); }
      let done = false;
      try {
        const res = await fetch(`${api}/ask`, { method: "POST", headers, body: JSON.stringify(body) });
        if (!res.ok) throw new Error(await errorOf(res));
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        const handle = (name, data) => {
          if (name === "thread") thread = data.id;
          else if (name === "context") status.textContent = `Context ${data.tokens.toLocaleString()} of ${data.budget.toLocaleString()} tokens${data.left_out.length ? " (left out: " + data.left_out.join(", ") + ")" : ""} · writing the query…`;
          else if (name === "sql") { sql.hidden = false; code.textContent = data.text; }
          else if (name === "summary") summary.textContent = data.text;
          else if (name === "correcting") status.textContent = `The first query failed (${data.error}); asking the model to correct it…`;
          else if (name === "running") status.textContent = "Running the query…";
          else if (name === "turn") { done = true; renderTurn(card, data); if (threadList) loadThreads(); }
          else if (name === "error") { done = true; card.replaceChildren(el("p", { class: "chat-error", role: "alert", text: data.message })); }
        };
        for (;;) {
          const { value, done: end } = await reader.read();
          if (value) buffer += decoder.decode(value, { stream: true });
          let at;
          while ((at = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            let name = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
            }
            if (data.length) handle(name, JSON.parse(data.join("\n")));
          }
          if (end) break;
        }
        if (!done) throw new Error("The answer stopped before it was complete; try again.");
      } catch (e) {
        card.replaceChildren(el("p", { class: "chat-error", role: "alert", text: e.message }));
      } finally {
        busy = false;
        form.querySelector("button").disabled = false;
        card.scrollIntoView({ block: "nearest" });
      }
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = input.value.trim();
      if (!q || busy) return;
      input.value = "";
      ask(q);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
    });

    // ---- earlier conversations (the chat page) -----------------------------------------------------------
    async function openThread(id) {
      const res = await fetch(`${api}/threads/${id}`);
      if (!res.ok) return;
      const t = await res.json();
      thread = t.id;
      log.replaceChildren(empty);
      empty.hidden = t.turns.length > 0;
      for (const turn of t.turns) renderTurn(addQuestion(turn.question), turn);
      markActive();
    }
    function markActive() {
      if (!threadList) return;
      for (const li of threadList.querySelectorAll("li")) li.classList.toggle("active", li.dataset.thread === thread);
    }
    async function loadThreads() {
      const res = await fetch(`${api}/threads`);
      if (!res.ok) return;
      const { threads } = await res.json();
      threadList.replaceChildren(...threads.map((t) => {
        const a = el("a", { href: `#${t.id}` }, el("span", { class: "chat-thread-title", text: t.title || "Untitled" }), el("span", { class: "muted small", text: `${t.turns} question${t.turns === 1 ? "" : "s"} · ${t.updated.slice(0, 16).replace("T", " ")}` }));
        a.onclick = (e) => { e.preventDefault(); history.replaceState(null, "", `#${t.id}`); openThread(t.id); };
        return el("li", { "data-thread": t.id }, a);
      }));
      if (!threads.length) threadList.append(el("li", { class: "muted small", text: "No conversations yet." }));
      markActive();
    }
    if (threadList) {
      loadThreads();
      const linked = location.hash.slice(1);
      if (/^[0-9a-f]{19}$/.test(linked)) openThread(linked);
      const fresh = document.querySelector("[data-chat-new]");
      if (fresh) fresh.onclick = () => { thread = null; history.replaceState(null, "", location.pathname); log.replaceChildren(empty); empty.hidden = false; markActive(); input.focus(); };
    }

    // Charts follow the theme.
    new MutationObserver(() => {
      for (const slot of root.querySelectorAll(".chat-chart.js-plotly-plot")) window.Plotly.relayout(slot, { template: templates[theme()] });
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  }

  // The dashboard's drawer.
  const drawer = document.getElementById("chat-drawer");
  const opener = document.getElementById("chat-open");
  if (drawer && opener) {
    const toggle = (open) => {
      drawer.hidden = !open;
      opener.setAttribute("aria-expanded", String(open));
      if (open) drawer.querySelector("textarea").focus();
    };
    opener.onclick = () => toggle(drawer.hidden);
    document.getElementById("chat-close").onclick = () => toggle(false);
  }
  for (const root of document.querySelectorAll("[data-chat]")) init(root);
})();
