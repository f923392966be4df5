// Page scripts: the host and deployment charts with their time-range picker, and a recommendation's evidence.
(function () {
  "use strict";
  const C = window.RightsizerCharts;
  let charts = [];

  function reset(containers) {
    charts.forEach((c) => c.destroy());
    charts = [];
    containers.forEach((el) => { if (el) el.replaceChildren(); });
  }

  // The picker: preset buttons, or a custom from/to in the viewer's zone (datetime-local is local time).
  function rangePicker(root, load) {
    const status = root.querySelector("[data-range-status]");
    const buttons = root.querySelectorAll("button[data-range]");
    function press(name) {
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.range === name)));
    }
    async function run(query, name) {
      press(name);
      status.textContent = "Loading…";
      try {
        const r = await load(query);
        status.textContent = "Showing " + (r.label === "custom" ? "a custom range" : "the last " + r.label) +
          " from " + (r.tier === "raw" ? "raw samples" : r.tier + " rollups") + ".";
      } catch (err) {
        status.textContent = "Could not load the charts: " + err.message;
      }
    }
    buttons.forEach((b) => b.addEventListener("click", () => run("range=" + b.dataset.range, b.dataset.range)));
    root.querySelector("[data-range-apply]").addEventListener("click", () => {
      const from = Date.parse(root.querySelector("[data-range-from]").value);
      const to = Date.parse(root.querySelector("[data-range-to]").value);
      if (isNaN(from) || isNaN(to)) { status.textContent = "Pick both a start and an end."; return; }
      if (from >= to) { status.textContent = "The start must be before the end."; return; }
      run("from=" + Math.floor(from / 1000) + "&to=" + Math.floor(to / 1000), "custom");
    });
    run("range=" + (root.dataset.initial || "24h"), root.dataset.initial || "24h");
  }

  function hostPage(root) {
    const url = root.dataset.series;
    const hostBox = document.getElementById("host-charts");
    const gpuBox = document.getElementById("gpu-charts");
    const serverBox = document.getElementById("server-charts");
    rangePicker(root, async (query) => {
      const d = await C.fetchJson(url + "?" + query);
      reset([hostBox, gpuBox, serverBox]);
      const r = d.range, h = d.host;
      const empty = (cols, keys) => (C.noData(cols, keys) ? "No samples in this range." : "");
      charts.push(C.lineChart(C.panel(hostBox, "CPU", empty(h, ["cpu_pct"])), r, "pct",
        [{ label: "CPU", t: h.t, values: h.cpu_pct }], { yMax: 100 }));
      charts.push(C.lineChart(C.panel(hostBox, "Memory", empty(h, ["mem_used"])), r, "bytes",
        [{ label: "used", t: h.t, values: h.mem_used }, { label: "total", flat: h.mem_total, dashed: true, color: "#888" }]));
      charts.push(C.lineChart(C.panel(hostBox, "Network", empty(h, ["net_rx_bps", "net_tx_bps"])), r, "bps",
        [{ label: "received", t: h.t, values: h.net_rx_bps }, { label: "sent", t: h.t, values: h.net_tx_bps }]));
      d.gpus.forEach((g) => {
        const title = "GPU " + g.index + " · " + g.name;
        charts.push(C.lineChart(C.panel(gpuBox, title + " — utilization", empty(g, ["util_pct"])), r, "pct",
          [{ label: "utilization", t: g.t, values: g.util_pct }], { yMax: 100 }));
        const mem = [{ label: "used (NVML)", t: g.t, values: g.mem_used },
          { label: "capacity", flat: g.memory_total, dashed: true, color: "#888" }];
        if (g.need) mem.push(g.need.flat !== undefined
          ? { label: "need", flat: g.need.flat, color: "#10b981" }
          : { label: "need", t: g.need.t, values: g.need.v, color: "#10b981" });
        charts.push(C.lineChart(C.panel(gpuBox, title + " — memory used vs need", g.need_basis), r, "bytes", mem));
        const power = [{ label: "power draw", t: g.t, values: g.power_w }];
        if (g.power_limit_w) power.push({ label: "limit", flat: g.power_limit_w, dashed: true, color: "#888" });
        charts.push(C.lineChart(C.panel(gpuBox, title + " — power", empty(g, ["power_w"])), r, "w", power));
      });
      d.servers.forEach((s) => {
        const title = s.id + " · " + (s.model || s.kind);
        charts.push(C.lineChart(C.panel(serverBox, title + " — requests", empty(s, ["running", "waiting"])), r, "req",
          [{ label: "running", t: s.t, values: s.running }, { label: "waiting", t: s.t, values: s.waiting }]));
        charts.push(C.lineChart(C.panel(serverBox, title + " — KV cache",
          C.noData(s, ["kv_cache_pct"]) ? "This server reports no KV-cache use in this range." : ""), r, "pct",
          [{ label: "KV cache used", t: s.t, values: s.kv_cache_pct }], { yMax: 100 }));
        charts.push(C.lineChart(C.panel(serverBox, title + " — tokens/s", empty(s, ["gen_tps", "prompt_tps"])), r, "tps",
          [{ label: "generated", t: s.t, values: s.gen_tps }, { label: "prompt", t: s.t, values: s.prompt_tps }]));
      });
      return r;
    });
  }

  function deploymentPage(root) {
    const url = root.dataset.series;
    const box = document.getElementById("deployment-charts");
    rangePicker(root, async (query) => {
      const d = await C.fetchJson(url + "?" + query);
      reset([box]);
      const r = d.range;
      charts.push(C.lineChart(C.panel(box, "Load: GPUs busy (Σ utilization ÷ 100)",
        C.noData(d, ["gpus_busy"]) ? "No rollups in this range yet." : ""), r, "gpus",
        [{ label: "GPUs busy", t: d.t, values: d.gpus_busy }]));
      charts.push(C.lineChart(C.panel(box, "Generated tokens/s (all replicas)",
        C.noData(d, ["gen_tps"]) ? "No token counters in this range." : ""), r, "tps",
        [{ label: "generated tokens/s", t: d.t, values: d.gen_tps }]));
      return r;
    });
  }

  async function evidencePage(root) {
    const box = document.getElementById("evidence-charts");
    let d;
    try {
      d = await C.fetchJson(root.dataset.evidence);
    } catch (err) {
      box.textContent = "Could not load the evidence: " + err.message;
      return;
    }
    d.items.forEach((item) => {
      const value = item.reported === false ? "not reported" : fmt(item.value) + " " + item.unit;
      const title = item.metric + " — " + item.statistic + ": " + value + " (threshold " + fmt(item.threshold) + ")";
      const note = "Window " + item.window_days + " days, " + item.coverage_pct + "% covered by data.";
      const canvas = C.panel(box, title, note);
      const s = item.series;
      if (s && s.t.length) {
        const days = item.window_days || 14;
        const to = s.t[s.t.length - 1] + 3600000;
        const range = { from: Math.min(s.t[0], to - days * 86400000), to };
        const lines = [];
        if (s.mean) lines.push({ label: "hourly mean", t: s.t, values: s.mean });
        if (s.peak) lines.push({ label: "hourly max", t: s.t, values: s.peak, color: "#a855f7" });
        if (s.total) lines.push({ label: "hourly total", t: s.t, values: s.total });
        if (item.threshold !== null) lines.push({ label: "threshold", flat: item.threshold, dashed: true, color: "#ef4444" });
        charts.push(C.lineChart(canvas, range, unitOf(item.unit), lines));
      } else if (item.reported === false) {
        canvas.replaceWith(Object.assign(document.createElement("p"), { className: "muted", textContent:
          "Not reported: the server does not export this metric." }));
      } else {
        charts.push(C.barChart(canvas, item.unit, ["value", "threshold"], [item.value, item.threshold],
          ["#3b82f6", "#ef4444"]));
      }
    });
  }

  function fmt(v) { return v === null || v === undefined ? "—" : (Math.round(v * 100) / 100).toString(); }
  function unitOf(unit) { return unit && unit.indexOf("%") === 0 ? "pct" : unit === "requests" ? "req" : unit; }

  const page = document.body.dataset.page;
  const root = document.querySelector("[data-chart-root]");
  if (!root) return;
  if (page === "host") hostPage(root);
  if (page === "deployment") deploymentPage(root);
  if (page === "recommendation") evidencePage(root);
})();
