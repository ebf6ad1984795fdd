// Lantern's small client layer for dashboard pages: draws the server's figures (Plotly, HTML tables and pivots,
// big numbers), and keeps the page live without reloads: filter changes, cross-filter clicks, drill-down on time
// charts, table sort and pages, "view rows", dark mode. All state lives in the URL, so every view is shareable.
(function () {
  "use strict";
  const form = document.getElementById("filters");
  const initial = document.getElementById("initial-data");
  if (!form) return;
  const { el, theme } = window.Lantern;
  const dashboard = form.dataset.dashboard;
  const templates = JSON.parse((document.getElementById("plotly-templates") || {}).textContent || "{}");
  const plotConfig = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  const crossBox = document.getElementById("cross-filters");
  let inflight = null;
  let last = null;
  // View state (`_grain.<chart>`, `_page.<chart>`, `_sort.<chart>`): kept apart from the form's filters.
  const view = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(location.search)) if (k.startsWith("_")) view.set(k, v);
  // Filters on dimensions without a control (set by clicks on charts) live as hidden inputs.
  for (const [k, v] of new URLSearchParams(location.search)) {
    if (k.startsWith("_") || form.querySelector(`[name="${CSS.escape(k)}"], [name="${CSS.escape(k)}.from"]`)) continue;
    addHidden(k, v);
  }

  function addHidden(name, value) {
    crossBox.append(el("input", { type: "hidden", name, value, class: "xf" }));
  }


  // ---- URL state -------------------------------------------------------------------------------------------

  // The form's fields as canonical URL parameters: ranges become name=from..to.
  function filterParams() {
    const out = new URLSearchParams();
    const ranges = {};
    for (const [name, value] of new FormData(form)) {
      const m = name.match(/^(.*)\.(from|to)$/);
      if (m) { (ranges[m[1]] = ranges[m[1]] || { from: "", to: "" })[m[2]] = value; }
      else if (value !== "") out.append(name, value);
    }
    for (const [name, r] of Object.entries(ranges)) {
      if (r.from !== "" || r.to !== "") out.append(name, r.from + ".." + r.to);
    }
    return out;
  }

  function allParams() {
    const p = filterParams();
    for (const [k, v] of view) p.append(k, v);
    return p;
  }

  function query(p) { const q = p.toString(); return q ? "?" + q : ""; }

  async function getJson(url, signal) {
    const res = await fetch(url, { signal, headers: { Accept: "application/json" } });
    if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); throw new Error("signed out"); }
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    return body;
  }

  // ---- Filters ------------------------------------------------------------------------------------------------

  // Sets dimension `name` to the values `values` (a list) or to a range `a..b`; returns whether a control took it.
  function setFilter(name, value) {
    const multi = form.querySelector(`.ms[data-name="${CSS.escape(name)}"]`);
    const from = form.querySelector(`[name="${CSS.escape(name)}.from"]`);
    const to = form.querySelector(`[name="${CSS.escape(name)}.to"]`);
    for (const h of crossBox.querySelectorAll("input")) if (h.name === name) h.remove();
    if (Array.isArray(value) && multi) {
      for (const box of multi.querySelectorAll("input[type=checkbox]")) box.checked = value.includes(box.value);
      const list = multi.querySelector(".ms-options");
      for (const v of value) {
        if (![...multi.querySelectorAll("input[type=checkbox]")].some((b) => b.value === v)) list.prepend(optionItem(name, v, null, true));
      }
      summarize(multi);
    } else if (typeof value === "string" && value.includes("..") && from && to) {
      const [a, b] = value.split("..");
      from.value = a; to.value = b;
    } else if (Array.isArray(value)) {
      for (const v of value) addHidden(name, v);
    } else if (value) {
      addHidden(name, value);
    }
  }

  function clearFilter(name) {
    const multi = form.querySelector(`.ms[data-name="${CSS.escape(name)}"]`);
    if (multi) { for (const box of multi.querySelectorAll("input[type=checkbox]")) box.checked = false; summarize(multi); }
    for (const input of form.querySelectorAll(`[name="${CSS.escape(name)}.from"], [name="${CSS.escape(name)}.to"]`)) input.value = "";
    for (const h of crossBox.querySelectorAll("input")) if (h.name === name) h.remove();
    for (const k of [...view.keys()]) if (k.startsWith("_page.")) view.delete(k);
  }

  function currentValues(name) {
    return filterParams().getAll(name);
  }

  // A click on a category: filter by it, or clear when it is already the only one selected.
  function toggleValue(name, value) {
    const now = currentValues(name);
    if (now.length === 1 && now[0] === value) clearFilter(name); else setFilter(name, [value]);
  }

  function optionItem(name, value, count, checked) {
    return el("li", {}, el("label", {},
      el("input", { type: "checkbox", name, value, checked: checked || null }),
      el("span", { class: "ms-value", text: value }),
      count === null || count === undefined ? null : el("span", { class: "count", text: Number(count).toLocaleString() })));
  }

  function summarize(ms) {
    const picked = [...ms.querySelectorAll("input[type=checkbox]:checked")].map((b) => b.value);
    ms.querySelector(".ms-summary").textContent = picked.length === 0 ? "All" : picked.length <= 2 ? picked.join(", ") : picked.length + " selected";
    ms.classList.toggle("active", picked.length > 0);
  }

  // Options come from the server, narrowed by the other filters and by the search text.
  async function loadOptions(ms, text) {
    const name = ms.dataset.name;
    const p = filterParams();
    if (text) p.set("q", text);
    try {
      const body = await getJson(`/api/dashboards/${encodeURIComponent(dashboard)}/options/${encodeURIComponent(name)}${query(p)}`);
      const checked = new Set([...ms.querySelectorAll("input[type=checkbox]:checked")].map((b) => b.value));
      const list = ms.querySelector(".ms-options");
      list.replaceChildren();
      for (const v of checked) if (!body.options.some((o) => o.value === v)) list.append(optionItem(name, v, null, true));
      for (const o of body.options) list.append(optionItem(name, o.value, o.count, checked.has(o.value)));
      if (!body.options.length && !checked.size) list.append(el("li", { class: "muted small ms-none", text: "No matching values" }));
      ms.querySelector(".ms-more").hidden = !body.more;
    } catch (e) { /* keep the list shown */ }
  }

  function closePanels(except) {
    for (const ms of form.querySelectorAll(".ms")) {
      if (ms === except) continue;
      const panel = ms.querySelector(".ms-panel");
      if (!panel.hidden) { panel.hidden = true; ms.querySelector(".ms-button").setAttribute("aria-expanded", "false"); }
    }
  }

  for (const ms of form.querySelectorAll(".ms")) {
    const panel = ms.querySelector(".ms-panel");
    const search = ms.querySelector(".ms-search");
    let timer = null;
    summarize(ms);
    ms.querySelector(".ms-button").addEventListener("click", () => {
      const open = panel.hidden;
      closePanels(ms);
      panel.hidden = !open;
      ms.querySelector(".ms-button").setAttribute("aria-expanded", String(open));
      if (open) { loadOptions(ms, search.value); search.focus(); }
    });
    search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => loadOptions(ms, search.value), 150); });
    search.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); if (e.key === "Escape") closePanels(); });
    ms.querySelector(".ms-clear").addEventListener("click", () => { clearFilter(ms.dataset.name); refresh(); });
    ms.querySelector(".ms-done").addEventListener("click", () => closePanels());
    ms.addEventListener("change", () => summarize(ms));
  }
  document.addEventListener("click", (e) => { if (!e.target.closest(".ms")) closePanels(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") { closePanels(); closeRows(); } });

  for (const preset of form.querySelectorAll("select.preset")) {
    preset.addEventListener("change", () => {
      const wrap = preset.closest(".filter");
      const [a, b] = preset.value.split("..");
      wrap.querySelector('input[name$=".from"]').value = a || "";
      wrap.querySelector('input[name$=".to"]').value = b || "";
      preset.value = "";
      refresh();
    });
  }

  // ---- Rendering ------------------------------------------------------------------------------------------------

  function kpiCard(k) {
    const change = k.change
      ? el("div", { class: "kpi-change " + k.change.tone, title: k.change.range },
        el("span", { class: "arrow", text: k.change.direction === "up" ? "▲" : k.change.direction === "down" ? "▼" : "●" }), " ",
        el("span", { class: "delta", text: k.change.text }),
        el("span", { class: "period", text: k.change.period }))
      : el("div", { class: "kpi-change" });
    const card = el("div", { class: "card kpi", "data-kpi": k.measure },
      el("div", { class: "kpi-label", title: k.description || k.label, text: k.label }),
      el("div", { class: "kpi-value", id: "kpi-" + k.measure, title: k.full, text: k.text }),
      change);
    if (k.spark) {
      const ns = "http://www.w3.org/2000/svg";
      const svg = document.createElementNS(ns, "svg");
      svg.setAttribute("class", "spark"); svg.setAttribute("viewBox", "0 0 100 28"); svg.setAttribute("preserveAspectRatio", "none");
      for (const [cls, d] of [["spark-area", k.spark.area], ["spark-line", k.spark.line]]) {
        const path = document.createElementNS(ns, "path"); path.setAttribute("class", cls); path.setAttribute("d", d); svg.append(path);
      }
      card.append(svg);
    }
    return card;
  }

  function renderChips(chips) {
    const bar = document.getElementById("chips");
    if (!bar) return;
    const clear = document.getElementById("clear-all");
    bar.replaceChildren(...chips.map((c) => el("span", { class: "chip", "data-dimension": c.dimension },
      el("b", { text: c.label }), " " + c.text,
      el("button", { type: "button", class: "chip-x", "aria-label": "Remove the " + c.label + " filter", text: "×" }))), clear);
    bar.hidden = chips.length === 0;
  }

  function renderGrid(slot, c) {
    const g = c.figure.table;
    const meta = c.figure.lantern || {};
    const table = el("table", { class: "data-grid" + (meta.pivot ? " pivot" : "") });
    const thead = el("thead");
    for (const row of g.head) {
      const tr = el("tr");
      for (const h of row) {
        const th = el("th", { colspan: h.colspan > 1 ? h.colspan : null, rowspan: h.rowspan > 1 ? h.rowspan : null, class: h.num ? "num" : null, text: h.text });
        if (h.sort) {
          th.classList.add("sortable");
          th.dataset.sort = h.sort;
          if (g.sort && g.sort[0] === h.sort) th.classList.add(g.sort[1] ? "asc" : "desc");
          th.tabIndex = 0;
        }
        tr.append(th);
      }
      thead.append(tr);
    }
    const tbody = el("tbody");
    for (const r of g.rows) {
      const tr = el("tr", { class: [r.cls, r.selected ? "selected" : null, r.f && r.f.length ? "clickable" : null].filter(Boolean).join(" ") || null });
      if (r.f && r.f.length) tr.dataset.f = JSON.stringify(r.f);
      for (const cell of r.cells) {
        const td = el("td", { class: [cell.num ? "num" : null, cell.tone || null].filter(Boolean).join(" ") || null, title: cell.title || null, text: cell.text });
        if (cell.heat !== undefined && cell.heat !== null) { td.style.setProperty("--heat", String(Math.round(cell.heat * 100) / 100)); td.classList.add("heat"); }
        if (cell.f && cell.f.length) { td.dataset.f = JSON.stringify(cell.f); td.classList.add("clickable"); }
        tr.append(td);
      }
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const wrap = el("div", { class: "grid-wrap" }, table);
    const nodes = [wrap];
    if (!g.rows.length) nodes.push(el("p", { class: "empty-state", text: g.empty }));
    if (g.page && g.page.pages > 1) {
      nodes.push(el("div", { class: "pager" },
        el("button", { type: "button", class: "button small-button", "data-page": g.page.page - 1, disabled: g.page.page <= 1 ? true : null, text: "‹ Prev" }),
        el("span", { class: "muted small", text: `Page ${g.page.page} of ${g.page.pages} · ${g.page.total.toLocaleString()} rows` }),
        el("button", { type: "button", class: "button small-button", "data-page": g.page.page + 1, disabled: g.page.page >= g.page.pages ? true : null, text: "Next ›" })));
    } else if (g.page) {
      nodes.push(el("div", { class: "pager" }, el("span", { class: "muted small", text: `${g.page.total.toLocaleString()} rows` })));
    }
    slot.replaceChildren(...nodes);
    slot.classList.add("is-grid");
  }

  function styled(figure) {
    const layout = Object.assign({}, figure.layout);
    if (templates[theme()]) layout.template = templates[theme()];
    return layout;
  }

  // A chart's view switches (a custom page's breakdowns): segmented buttons in its header.
  function renderSwitches(card, c) {
    const switches = (c.figure && c.figure.lantern && c.figure.lantern.switches) || [];
    let box = card.querySelector(".chart-switches");
    if (!switches.length) { if (box) box.remove(); return; }
    if (!box) {
      box = el("div", { class: "chart-switches" });
      card.querySelector(".chart-head").after(box);
    }
    box.replaceChildren(...switches.map((s) => el("div", { class: "switch", role: "group", "aria-label": s.label },
      el("span", { class: "switch-label", text: s.label }),
      ...s.options.map((o) => el("button", {
        type: "button", class: "switch-option" + (o.value === s.current ? " active" : ""),
        "aria-pressed": o.value === s.current ? "true" : "false", "data-param": s.param, "data-value": o.value, text: o.label,
      })))));
  }

  // Purging a plot drops its event handlers too: bind them again when it is next drawn.
  function unplot(slot) {
    if (window.Plotly && slot.classList.contains("js-plotly-plot")) Plotly.purge(slot);
    slot._bound = false;
  }

  function renderChart(c) {
    const slot = document.getElementById("chart-" + c.id);
    if (!slot) return;
    const card = slot.closest(".chart");
    slot.classList.remove("skeleton");
    card.classList.toggle("has-error", !!c.error);
    card.classList.toggle("is-empty", !!c.empty);
    const up = card.querySelector(".drill-up");
    if (up) up.hidden = !view.has("_grain." + c.id) && !view.has("_up." + c.id);
    renderSwitches(card, c);
    const exportLink = card.querySelector(".export");
    if (exportLink) exportLink.href = `/api/dashboards/${encodeURIComponent(dashboard)}/charts/${encodeURIComponent(c.id)}/export.csv${query(allParams())}`;
    if (c.error) {
      unplot(slot);
      slot.replaceChildren(el("div", { class: "chart-error", role: "alert" }, el("strong", { text: "This chart could not be drawn" }), el("p", { text: c.error })));
      return;
    }
    if (c.empty && !(c.figure && c.figure.kpi)) {
      unplot(slot);
      slot.replaceChildren(el("div", { class: "empty-state" }, el("strong", { text: "No data for these filters" }), el("p", { class: "muted small", text: "Widen the date range or clear a filter." })));
      return;
    }
    slot.classList.remove("is-grid");
    if (c.figure.table) { renderGrid(slot, c); return; }
    if (c.figure.kpi) { slot.replaceChildren(kpiCard(c.figure.kpi)); slot.classList.add("big-number"); return; }
    if (!window.Plotly) return;
    if (!slot.classList.contains("js-plotly-plot")) slot.replaceChildren();
    slot._lantern = c;
    return Plotly.react(slot, c.figure.data, styled(c.figure), plotConfig).then(() => {
      slot.dataset.drawn = String(Date.now());
      bindPlot(slot, c);
      markOnce("lantern:first-chart");
    });
  }

  // Performance marks (milliseconds since navigation) for the first chart and the whole first page drawn: the
  // first-chart benchmark reads them, and so can any real-user monitoring.
  function markOnce(name) {
    if (window.performance && performance.mark && performance.getEntriesByName(name).length === 0) performance.mark(name);
  }

  // Runs `f` after the browser has had a chance to paint (or soon, where frames are paused).
  function afterPaint(f) {
    let done = false;
    const go = () => { if (!done) { done = true; f(); } };
    requestAnimationFrame(() => setTimeout(go, 0));
    setTimeout(go, 100);
  }

  function isPlot(c) {
    return !c.error && !(c.empty && !(c.figure && c.figure.kpi)) && c.figure && !c.figure.table && !c.figure.kpi;
  }

  function inView(c) {
    const slot = document.getElementById("chart-" + c.id);
    return !!slot && slot.getBoundingClientRect().top < window.innerHeight;
  }

  let renderToken = 0;

  // KPIs, grids and states are plain HTML and appear at once; Plotly figures are drawn one per frame, those in
  // view first, so the first chart shows without waiting for the whole page (drawing every figure in one go took
  // a second on a large dashboard). A newer render stops an older one's queue.
  function render(data) {
    last = data;
    const token = ++renderToken;
    const kpis = document.getElementById("kpis");
    if (kpis) kpis.replaceChildren(...data.kpis.map(kpiCard));
    renderChips(data.chips);
    const plots = [];
    for (const c of data.charts) { if (isPlot(c)) plots.push(c); else renderChart(c); }
    const seen = plots.filter(inView);
    const queue = seen.concat(plots.filter((c) => !seen.includes(c)));
    const status = document.getElementById("status");
    if (status) status.textContent = `Dataset ${data.dataset} v${data.version} · ${data.rows.toLocaleString()} rows · ${data.elapsed_ms} ms`;
    document.body.dataset.version = String(data.version);
    const next = () => {
      if (token !== renderToken) return;
      const c = queue.shift();
      if (!c) {
        markOnce("lantern:page-drawn");
        document.body.dataset.rendered = String(Date.now());
        return;
      }
      Promise.resolve(renderChart(c)).catch(() => {}).then(() => afterPaint(next));
    };
    next();
  }

  // ---- Interaction ----------------------------------------------------------------------------------------------

  function addDays(iso, n) {
    const d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  // The last day of the bucket of `grain` that starts on `start`.
  function bucketEnd(grain, start) {
    const d = new Date(start + "T00:00:00Z");
    if (grain === "day") return start;
    if (grain === "week") return addDays(start, 6);
    const months = grain === "month" ? 1 : grain === "quarter" ? 3 : 12;
    d.setUTCMonth(d.getUTCMonth() + months);
    d.setUTCDate(d.getUTCDate() - 1);
    return d.toISOString().slice(0, 10);
  }

  function bindPlot(slot, c) {
    if (slot._bound) return;
    slot._bound = true;
    slot.on("plotly_click", (ev) => {
      const chart = slot._lantern;
      const meta = (chart.figure && chart.figure.lantern) || {};
      // Stacked areas fill their gaps with points that carry no data: take the first real one.
      const points = ev.points || [];
      const p = points.find((q) => q.customdata !== undefined && q.customdata !== null) || points[0];
      if (!p || !meta.click) return;
      if (meta.time) {
        const start = String(p.customdata !== undefined && p.customdata !== null ? p.customdata : p.x).slice(0, 10);
        pushDrill(chart.id, meta.time.dimension);
        setFilter(meta.time.dimension, start + ".." + bucketEnd(meta.time.grain, start));
        if (meta.time.next) view.set("_grain." + chart.id, meta.time.next); else view.delete("_grain." + chart.id);
      } else if (p.customdata === undefined || p.customdata === null) {
        return;
      } else if (meta.range) {
        setFilter(meta.click[0], String(p.customdata));
      } else if (Array.isArray(p.customdata) && meta.click.length > 1) {
        meta.click.forEach((d, i) => { if (p.customdata[i] !== null) setCategory(d, String(p.customdata[i]), meta.grain); });
      } else {
        setCategory(meta.click[0], String(p.customdata), meta.grain);
      }
      refresh();
    });
    slot.on("plotly_relayout", (ev) => {
      const chart = slot._lantern;
      const meta = (chart.figure && chart.figure.lantern) || {};
      if (!meta.time) return;
      const a = ev["xaxis.range[0]"], b = ev["xaxis.range[1]"];
      if (a && b) {
        pushDrill(chart.id, meta.time.dimension);
        setFilter(meta.time.dimension, String(a).slice(0, 10) + ".." + String(b).slice(0, 10));
        refresh();
      }
    });
  }

  // Drill-down history per chart (`_up.<chart>`, in the URL like all view state): each step down records the grain
  // and date range it left, so "up" restores exactly the view the reader drilled from.
  function drillStack(id) {
    try { return JSON.parse(view.get("_up." + id) || "[]"); } catch (_) { return []; }
  }

  function pushDrill(id, dimension) {
    const stack = drillStack(id);
    stack.push({ grain: view.get("_grain." + id) || "", range: currentValues(dimension)[0] || "" });
    view.set("_up." + id, JSON.stringify(stack));
  }

  function drillUp(id, dimension) {
    const stack = drillStack(id);
    const back = stack.pop() || { grain: "", range: "" };
    if (stack.length) view.set("_up." + id, JSON.stringify(stack)); else view.delete("_up." + id);
    if (back.grain) view.set("_grain." + id, back.grain); else view.delete("_grain." + id);
    if (!dimension) return;
    if (back.range) setFilter(dimension, back.range); else clearFilter(dimension);
  }

  function forgetDrills() {
    for (const k of [...view.keys()]) if (k.startsWith("_grain.") || k.startsWith("_up.")) view.delete(k);
  }

  // A category value: a date bucket (a bar or heatmap cell on a date axis, of `grain`) becomes its range.
  function setCategory(dimension, value, grain) {
    if (grain && /^\d{4}-\d{2}-\d{2}/.test(value)) {
      const start = value.slice(0, 10);
      setFilter(dimension, start + ".." + bucketEnd(grain, start));
      return;
    }
    toggleValue(dimension, value);
  }

  function applyPairs(pairs) {
    const byName = {};
    for (const [k, v] of pairs) (byName[k] = byName[k] || []).push(v);
    const same = Object.entries(byName).every(([k, vs]) => { const now = currentValues(k); return now.length === vs.length && vs.every((v) => now.includes(v) || now.includes(v)); });
    for (const [k, vs] of Object.entries(byName)) {
      if (same) clearFilter(k);
      else if (vs.length === 1 && vs[0].includes("..")) setFilter(k, vs[0]);
      else setFilter(k, vs);
    }
    refresh();
  }

  document.addEventListener("click", (e) => {
    const cell = e.target.closest(".data-grid td.clickable, .data-grid tr.clickable");
    if (cell && cell.closest(".charts")) {
      const target = cell.dataset.f ? cell : cell.closest("tr");
      if (target && target.dataset.f) applyPairs(JSON.parse(target.dataset.f));
      return;
    }
    const th = e.target.closest(".data-grid th.sortable");
    if (th) {
      const id = th.closest(".chart").dataset.chart;
      const desc = !th.classList.contains("desc");
      view.set("_sort." + id, (desc ? "-" : "") + th.dataset.sort);
      view.delete("_page." + id);
      refreshChart(id);
      return;
    }
    const option = e.target.closest(".chart .switch-option");
    if (option) {
      view.set(option.dataset.param, option.dataset.value);
      refreshChart(option.closest(".chart").dataset.chart);
      return;
    }
    const pageButton = e.target.closest(".chart .pager button[data-page]");
    if (pageButton) {
      const id = pageButton.closest(".chart").dataset.chart;
      view.set("_page." + id, pageButton.dataset.page);
      refreshChart(id);
      return;
    }
    const chipX = e.target.closest(".chip-x");
    if (chipX) {
      const dim = chipX.closest(".chip").dataset.dimension;
      clearFilter(dim);
      forgetDrills();
      refresh();
      return;
    }
    if (e.target.closest("#clear-all")) {
      for (const ms of form.querySelectorAll(".ms")) clearFilter(ms.dataset.name);
      for (const input of form.querySelectorAll("input[type=date], input[type=number]")) input.value = "";
      crossBox.replaceChildren();
      for (const k of [...view.keys()]) view.delete(k);
      refresh();
      return;
    }
    const up = e.target.closest(".drill-up");
    if (up) {
      const id = up.closest(".chart").dataset.chart;
      const meta = last && last.charts.find((c) => c.id === id);
      const dim = meta && meta.figure && meta.figure.lantern && meta.figure.lantern.time && meta.figure.lantern.time.dimension;
      drillUp(id, dim);
      refresh();
      return;
    }
    const rows = e.target.closest(".view-rows");
    if (rows) { openRows(rows.closest(".chart").dataset.chart, 1); return; }
  });

  // ---- View rows --------------------------------------------------------------------------------------------------

  const modal = document.getElementById("rows-modal");
  let rowsChart = null;

  async function openRows(id, page) {
    rowsChart = id;
    const p = allParams();
    p.set("page", String(page));
    modal.hidden = false;
    document.body.classList.add("modal-open");
    const chart = last && last.charts.find((c) => c.id === id);
    document.getElementById("rows-title").textContent = "Rows behind “" + (chart ? chart.title : id) + "”";
    const base = `/api/dashboards/${encodeURIComponent(dashboard)}/charts/${encodeURIComponent(id)}`;
    const csvParams = allParams();
    document.getElementById("rows-csv").href = base + "/rows.csv" + query(csvParams);
    const table = document.getElementById("rows-table");
    table.classList.add("loading-rows");
    try {
      const body = await getJson(base + "/rows" + query(p));
      document.getElementById("rows-summary").textContent = `${body.total.toLocaleString()} rows behind this chart, with the page's filters.`;
      table.replaceChildren(
        el("thead", {}, el("tr", {}, ...body.columns.map((c) => el("th", { text: c })))),
        el("tbody", {}, ...body.rows.map((r) => el("tr", {}, ...r.map((v) => el("td", { class: typeof v === "number" ? "num" : null, text: v === null ? "—" : String(v) }))))));
      const pager = document.getElementById("rows-pager");
      pager.replaceChildren(
        el("button", { type: "button", class: "button small-button", disabled: body.page <= 1 ? true : null, "data-rows-page": body.page - 1, text: "‹ Prev" }),
        el("span", { class: "muted small", text: `Page ${body.page} of ${body.pages}` }),
        el("button", { type: "button", class: "button small-button", disabled: body.page >= body.pages ? true : null, "data-rows-page": body.page + 1, text: "Next ›" }));
    } catch (e) {
      document.getElementById("rows-summary").textContent = "Could not load the rows: " + e.message;
    } finally {
      table.classList.remove("loading-rows");
    }
  }

  function closeRows() {
    if (!modal || modal.hidden) return;
    modal.hidden = true;
    document.body.classList.remove("modal-open");
  }

  if (modal) {
    document.getElementById("rows-close").addEventListener("click", closeRows);
    modal.addEventListener("click", (e) => {
      if (e.target === modal) closeRows();
      const b = e.target.closest("[data-rows-page]");
      if (b && rowsChart) openRows(rowsChart, Number(b.dataset.rowsPage));
    });
  }

  // ---- Refresh ----------------------------------------------------------------------------------------------------

  function syncUrl() {
    history.replaceState(null, "", location.pathname + query(allParams()));
  }

  function setStatus(text) {
    const status = document.getElementById("status");
    if (status) status.textContent = text;
  }

  async function refresh() {
    for (const k of [...view.keys()]) if (k.startsWith("_page.")) view.delete(k);
    syncUrl();
    if (inflight) inflight.abort();
    inflight = new AbortController();
    document.body.classList.add("loading");
    try {
      render(await getJson(`/api/dashboards/${encodeURIComponent(dashboard)}/data${query(allParams())}`, inflight.signal));
    } catch (e) {
      if (e.name !== "AbortError") setStatus("Could not refresh: " + e.message);
    } finally {
      document.body.classList.remove("loading");
    }
  }

  async function refreshChart(id) {
    syncUrl();
    const slot = document.getElementById("chart-" + id);
    const card = slot && slot.closest(".chart");
    if (card) card.classList.add("loading");
    try {
      const c = await getJson(`/api/dashboards/${encodeURIComponent(dashboard)}/charts/${encodeURIComponent(id)}${query(allParams())}`);
      if (last) last.charts = last.charts.map((x) => (x.id === id ? c : x));
      renderChart(c);
    } catch (e) {
      setStatus("Could not refresh: " + e.message);
    } finally {
      if (card) card.classList.remove("loading");
    }
  }

  form.addEventListener("change", (e) => { if (!e.target.classList.contains("preset")) refresh(); });
  form.addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  document.addEventListener("lantern:theme", () => {
    if (!last || !window.Plotly) return;
    for (const c of last.charts) {
      const slot = document.getElementById("chart-" + c.id);
      if (slot && slot.classList.contains("js-plotly-plot") && c.figure && c.figure.layout) Plotly.relayout(slot, { template: templates[theme()] });
    }
  });
  if (initial) render(JSON.parse(initial.textContent));

  // `lantern serve --watch`: reload the page when the specs were reloaded or an edit was refused.
  const watch = document.querySelector("[data-watch]");
  if (watch) {
    const generation = watch.dataset.watch;
    const error = watch.dataset.watchError || "";
    setInterval(async () => {
      try {
        const s = await getJson("/api/specs?dashboard=" + encodeURIComponent(watch.dataset.dashboard || ""));
        const err = s.error ? s.error.message : "";
        if (String(s.generation) !== generation || err !== error) location.reload();
      } catch (e) { /* the server restarts: try again */ }
    }, 1000);
  }
})();
