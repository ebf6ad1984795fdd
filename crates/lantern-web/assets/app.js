// Lantern's small client layer: draws the server's Plotly figures, and on filter changes fetches
// /api/dashboards/{id}/data and updates KPIs and charts in place (Plotly.react), keeping the URL shareable.
(function () {
  "use strict";
  const form = document.getElementById("filters");
  const initial = document.getElementById("initial-data");
  if (!form || !initial) return;
  const dashboard = form.dataset.dashboard;
  const config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  let inflight = null;

  function render(data) {
    for (const k of data.kpis) {
      const el = document.getElementById("kpi-" + k.measure);
      if (el) el.textContent = k.text;
    }
    for (const c of data.charts) {
      const el = document.getElementById("chart-" + c.id);
      if (el) Plotly.react(el, c.figure.data, c.figure.layout, config);
    }
    const status = document.getElementById("status");
    if (status) status.textContent = "Dataset " + data.dataset + " v" + data.version + " · " + data.elapsed_ms + " ms";
    document.body.dataset.version = String(data.version);
  }

  // The form's fields as canonical URL parameters: ranges become name=from..to.
  function params() {
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

  async function refresh() {
    const q = params().toString();
    history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
    if (inflight) inflight.abort();
    inflight = new AbortController();
    document.body.classList.add("loading");
    try {
      const res = await fetch("/api/dashboards/" + encodeURIComponent(dashboard) + "/data" + (q ? "?" + q : ""),
        { signal: inflight.signal, headers: { Accept: "application/json" } });
      if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
      const body = await res.json();
      if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
      render(body);
    } catch (e) {
      if (e.name !== "AbortError") {
        const status = document.getElementById("status");
        if (status) status.textContent = "Could not refresh: " + e.message;
      }
    } finally {
      document.body.classList.remove("loading");
    }
  }

  form.addEventListener("change", refresh);
  form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
  render(JSON.parse(initial.textContent));
})();
