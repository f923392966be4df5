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

  // The picker: preset buttons, a custom from/to in the viewer's zone (datetime-local is local time), a drag
  // across any chart, or "zoom out". The range lives in the page URL (?range=7d or ?from=&to= in Unix
  // seconds), so a view can be shared and survives a reload; the server checks it (timerange.parse).
  function rangePicker(root, load) {
    const status = root.querySelector("[data-range-status]");
    const buttons = root.querySelectorAll("button[data-range]");
    const fromInput = root.querySelector("[data-range-from]");
    const toInput = root.querySelector("[data-range-to]");
    const fallback = root.dataset.initial || "24h";
    let shown = null; // the range on screen: {from, to, tier, label}, epoch ms
    let queue = Promise.resolve(); // one load at a time, so the last range asked for is the one drawn

    function press(name) {
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.range === name)));
    }
    function nameOf(query) {
      return new URLSearchParams(query).get("range") || "custom";
    }
    function describe(r) {
      const tier = r.tier === "raw" ? "raw samples" : r.tier + " rollups";
      const button = [...buttons].find((b) => b.dataset.range === r.label);  // "24 h", as the button reads
      if (r.label !== "custom") return "Showing the last " + (button ? button.textContent.trim() : r.label) +
        " from " + tier + ".";
      return "Showing a custom range, " + C.whenFormat.format(r.from) + " – " + C.whenFormat.format(r.to) +
        ", from " + tier + ".";
    }
    async function show(query, push) {
      press(nameOf(query));
      status.textContent = "Loading…";
      try {
        const r = await load(query);
        shown = r;
        C.setQuery(query, push);
        fromInput.value = localInput(r.from);
        toInput.value = localInput(r.to);
        status.textContent = describe(r);
      } catch (err) {
        press(shown ? nameOf(C.currentQuery()) : null);
        status.textContent = "Could not load the charts: " + err.message;
      }
    }
    function run(query, push) {
      queue = queue.then(() => show(query, push));
      return queue;
    }
    function custom(fromMs, toMs) {
      const from = Math.floor(fromMs / 1000);
      const to = Math.max(Math.ceil(toMs / 1000), from + 60);
      return run("from=" + from + "&to=" + to, true);
    }

    buttons.forEach((b) => b.addEventListener("click", () => run("range=" + b.dataset.range, true)));
    root.querySelector("[data-range-apply]").addEventListener("click", () => {
      const from = Date.parse(fromInput.value);
      const to = Date.parse(toInput.value);
      if (isNaN(from) || isNaN(to)) { status.textContent = "Pick both a start and an end."; return; }
      if (from >= to) { status.textContent = "The start must be before the end."; return; }
      custom(from, to);
    });
    const zoomOut = root.querySelector("[data-range-zoomout]");
    if (zoomOut) zoomOut.addEventListener("click", () => {
      if (!shown) return;
      const span = shown.to - shown.from;
      const to = Math.min(Date.now(), shown.to + span);
      custom(Math.max(to - 3 * span, to - 400 * 86400000), to);
    });
    C.onRangeSelect(custom);
    window.addEventListener("popstate", () => run(C.currentQuery(), false));

    // A range in the URL that the server refused (timerange.BadRange, rendered in _ranges.html) is
    // dropped for the page's default, and the page says why.
    const refused = root.querySelector("[data-range-error]");
    if (refused) {
      C.setQuery("", false);
      run("range=" + fallback, false).then(() => {
        status.textContent = refused.textContent.trim() + " " + status.textContent;
      });
    } else {
      run(C.currentQuery(), false);
    }
  }

  // "2026-12-02T14:05", the value a datetime-local input takes, in the viewer's zone.
  function localInput(ms) {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }

  // ---- host and GPU pages: every metric of the registry, one chart per metric ----------------------
  // Each chart overlays the GPUs (or servers) of the page, one line per GPU in the same colour on every
  // chart; labels, units and descriptions come from the series' `metrics` block (telemetry.registry).
  const PER_PERIOD = { raw: "per sample", "5m": "per 5 min", "1h": "per hour" };
  const GREY = "#888", NEED = "#10b981";

  function metaOf(d, key) {
    return (d.metrics && d.metrics[key]) || { label: key, unit: "ratio", description: "" };
  }

  function lastValue(values) {
    for (let i = (values || []).length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  function formatted(unit, v) {
    if (v === null || v === undefined) return "—";
    return C.format ? C.format(unit, v) : String(Math.round(v * 10) / 10);
  }

  // One chart: `series` are [{label, cols, key, color}]; more: {extra lines (limits, needs), opts, title, note}.
  function metricChart(box, d, entity, key, series, more) {
    more = more || {};
    const m = metaOf(d, entity + "." + key);
    const counted = m.unit === "joules" || key === "preempted";
    const title = (more.title || m.label) + (counted ? " " + PER_PERIOD[d.range.tier] : "");
    const none = series.every((s) => C.noData(s.cols, [s.key]));
    const note = !series.length || series.every((s) => !s.cols.t.length) ? "No samples in this range."
      : none ? "Not reported in this range." : (more.note || m.description);
    const lines = series.map((s) => ({ label: s.label, t: s.cols.t, values: s.cols[s.key], color: s.color }));
    const chart = C.lineChart(C.panel(box, title, note), d.range, m.unit, lines.concat(more.extra || []), more.opts);
    chart.canvas.dataset.metric = entity + "." + key;
    charts.push(chart);
  }

  // One line per GPU, "GPU 0", "GPU 1"…, each GPU in its own colour on every chart of the page.
  function gpuLines(d, gpus, key) {
    return gpus.map((g, i) => ({ label: gpus.length === 1 ? metaOf(d, "gpu." + key).label : "GPU " + g.index,
      cols: g, key, color: C.PALETTE[i % C.PALETTE.length] }));
  }

  // A reference line per distinct value: one "capacity" when every GPU has the same, else one per GPU.
  function flatLines(gpus, key, label) {
    const values = gpus.map((g) => g[key]).filter((v) => v);
    if (!values.length) return [];
    if (values.every((v) => v === values[0])) return [{ label, flat: values[0], dashed: true, color: GREY }];
    return gpus.filter((g) => g[key]).map((g) => ({ label: "GPU " + g.index + " " + label, flat: g[key], dashed: true,
      color: GREY }));
  }

  // The memory a GPU's server needs (weights + KV cache in use + overhead), once per server.
  function needLines(gpus) {
    const byBasis = new Map();
    gpus.forEach((g) => { if (g.need && !byBasis.has(g.need_basis)) byBasis.set(g.need_basis, g); });
    return [...byBasis.values()].map((g) => {
      const label = byBasis.size > 1 ? "need (" + g.servers.join(", ") + ")" : "need";
      return g.need.flat !== undefined ? { label, flat: g.need.flat, color: NEED }
        : { label, t: g.need.t, values: g.need.v, color: NEED };
    });
  }

  function gpuCharts(box, d, gpus) {
    const chart = (key, more) => metricChart(box, d, "gpu", key, gpuLines(d, gpus, key), more);
    const pct = { opts: { yMax: 100 } };
    chart("util_pct", pct);
    chart("mem_used", { title: "Memory used vs need", note: [...new Set(gpus.map((g) => g.need_basis))].join(" · "),
      extra: flatLines(gpus, "memory_total", "capacity").concat(needLines(gpus)) });
    chart("mem_util_pct", pct);
    chart("power_w", { extra: flatLines(gpus, "power_limit_w", "limit") });
    chart("temp_c");
    chart("sm_clock_mhz");
    chart("energy_j");
  }

  // Inference servers: one chart per metric, one line per server (and per series of a pair).
  function serverCharts(box, d) {
    const servers = d.servers;
    if (!servers.length) return;
    const name = (s, label) => (servers.length > 1 ? s.id + " " : "") + label;
    const lines = (key, label, offset) => servers.map((s, i) => ({ label: name(s, label), cols: s, key,
      color: C.PALETTE[(i * 2 + (offset || 0)) % C.PALETTE.length] }));
    const chart = (key, series, more) => metricChart(box, d, "server", key, series, more);
    chart("running", lines("running", "running").concat(lines("waiting", "waiting", 1)),
      { title: "Requests running and waiting" });
    chart("queue_time_ms", lines("queue_time_ms", "queue time"));
    chart("requests_ps", lines("requests_ps", "finished"));
    chart("batch_size", lines("batch_size", "batch size"));
    chart("kv_cache_pct", lines("kv_cache_pct", "KV cache used"), { opts: { yMax: 100 } });
    chart("preempted", lines("preempted", "preempted"));
    chart("gen_tps", lines("gen_tps", "generated").concat(lines("prompt_tps", "prompt", 1)),
      { title: "Tokens/s, generated and prompt" });
  }

  function hostCharts(box, d) {
    const h = d.host;
    const line = (key, label, color) => ({ label, cols: h, key, color });
    const chart = (key, series, more) => metricChart(box, d, "host", key, series, more);
    const flat = (label, value) => (value ? [{ label, flat: value, dashed: true, color: GREY }] : []);
    chart("cpu_pct", [line("cpu_pct", "CPU")], { opts: { yMax: 100 } });
    chart("mem_used", [line("mem_used", "used"), line("mem_available", "available", "#10b981"),
      line("swap_used", "swap used", "#ef4444")], { title: "Memory", extra: flat("total", h.mem_total) });
    chart("net_rx_bps", [line("net_rx_bps", "received"), line("net_tx_bps", "sent", "#f97316")], { title: "Network" });
    chart("disk_read_bps", [line("disk_read_bps", "read"), line("disk_write_bps", "written", "#f97316")],
      { title: "Disk" });
    chart("load1", [line("load1", "load, 1 min")], { extra: flat("CPUs", h.cpu_count) });
  }

  // A small SVG line of utilization (0–100) over the range; gaps break it. Attributes only: no inline style.
  function sparkline(t, values, range, label) {
    const NS = "http://www.w3.org/2000/svg", W = 96, H = 24;
    const svg = document.createElementNS(NS, "svg");
    [["class", "spark"], ["width", W], ["height", H], ["viewBox", "0 0 " + W + " " + H], ["role", "img"],
      ["aria-label", label]].forEach(([k, v]) => svg.setAttribute(k, String(v)));
    const span = Math.max(range.to - range.from, 1);
    let segment = [];
    const flush = () => {
      if (segment.length > 1) {
        const p = document.createElementNS(NS, "polyline");
        p.setAttribute("points", segment.join(" "));
        svg.appendChild(p);
      }
      segment = [];
    };
    t.forEach((ms, i) => {
      const v = values[i];
      if (v === null) { flush(); return; }
      const x = ((ms - range.from) / span) * W;
      const y = H - 1 - (Math.max(0, Math.min(100, v)) / 100) * (H - 2);
      segment.push(x.toFixed(1) + "," + y.toFixed(1));
    });
    flush();
    return svg;
  }

  // The per-GPU table: each GPU's latest values in the range, and its utilization sparkline.
  function fillGpuTable(table, d) {
    if (!table) return;
    const byIndex = new Map(d.gpus.map((g) => [String(g.index), g]));
    table.querySelectorAll("tbody tr[data-gpu-index]").forEach((tr) => {
      const g = byIndex.get(tr.dataset.gpuIndex);
      tr.querySelectorAll("[data-cell]").forEach((cell) => {
        const key = cell.dataset.cell;
        if (key === "spark") {
          const util = g ? g.util_pct.filter((v) => v !== null) : [];
          cell.replaceChildren(util.length ? sparkline(g.t, g.util_pct, d.range, "GPU " + g.index +
            " utilization over the range, latest " + formatted("pct", lastValue(g.util_pct)))
            : Object.assign(document.createElement("span"), { className: "muted", textContent: "no data" }));
          return;
        }
        cell.textContent = g ? formatted(metaOf(d, "gpu." + key).unit, lastValue(g[key])) : "—";
      });
    });
  }

  function hostPage(root) {
    const url = root.dataset.series;
    const hostBox = document.getElementById("host-charts");
    const gpuBox = document.getElementById("gpu-charts");
    const serverBox = document.getElementById("server-charts");
    rangePicker(root, async (query) => {
      const d = await C.fetchJson(url + "?" + query);
      reset([hostBox, gpuBox, serverBox]);
      hostCharts(hostBox, d);
      if (gpuBox && d.gpus.length) gpuCharts(gpuBox, d, d.gpus);
      fillGpuTable(document.getElementById("gpu-table"), d);
      serverCharts(serverBox, d);
      return d.range;
    });
  }

  function gpuPage(root) {
    const url = root.dataset.series;
    const gpuBox = document.getElementById("gpu-charts");
    const serverBox = document.getElementById("server-charts");
    rangePicker(root, async (query) => {
      const d = await C.fetchJson(url + "?" + query);
      reset([gpuBox, serverBox]);
      gpuCharts(gpuBox, d, [d.gpu]);
      serverCharts(serverBox, d);
      return d.range;
    });
  }

  // ---- deployment page: each registry metric summed, averaged or maxed over its hosts ----------------
  // One chart per metric (dashboard.deployment_metrics, in the registry's order), its lines the ways it is
  // combined; metrics that read together share a chart, as on the host page.
  const JOIN = { "server.waiting": "server.running", "server.prompt_tps": "server.gen_tps",
    "host.mem_available": "host.mem_used", "host.swap_used": "host.mem_used", "host.net_tx_bps": "host.net_rx_bps",
    "host.disk_write_bps": "host.disk_read_bps" };
  const JOINED_TITLES = { "server.running": "Requests running and waiting", "server.gen_tps":
    "Tokens/s, generated and prompt", "host.mem_used": "Host memory", "host.net_rx_bps": "Network",
    "host.disk_read_bps": "Disk" };
  const HOW = { sum: "Σ", mean: "mean", max: "max", weighted: "mean weighted by requests/s" };
  const OVER = { gpu: "GPUs", server: "servers", host: "hosts" };

  function deploymentGroups(d) {
    const groups = new Map(); // "entity.wire" of the chart → [column names]
    Object.entries(d.metrics).forEach(([column, m]) => {
      const key = m.entity + "." + m.wire;
      const chart = JOIN[key] || key;
      if (!groups.has(chart)) groups.set(chart, []);
      groups.get(chart).push(column);
    });
    return groups;
  }

  function deploymentChart(box, d, chartKey, columns) {
    const first = d.metrics[columns[0]];
    const lines = columns.map((column, i) => {
      const m = d.metrics[column];
      const label = (columns.length > 1 && m.wire !== first.wire ? m.label : first.label) + ", " + HOW[m.how];
      return { label, t: d.t, values: d.columns[column], color: C.PALETTE[i % C.PALETTE.length] };
    });
    const hows = [...new Set(columns.map((c) => HOW[d.metrics[c].how]))].join(" and ");
    let title = JOINED_TITLES[chartKey] || first.label;
    title += " (" + hows + " over its " + OVER[first.entity] + ")";
    if (first.unit === "joules" || first.wire === "preempted") title += " " + PER_PERIOD[d.range.tier];
    if (chartKey === "gpu.mem_used") {
      lines.push({ label: "total", t: d.t, values: d.columns.gpu_mem_total_sum, dashed: true, color: GREY });
    }
    const empty = C.noData({ t: d.t, ...d.columns }, columns);
    const note = !d.t.length ? "No rollups in this range yet." : empty ? "Not reported in this range." : first.description;
    const chart = C.lineChart(C.panel(box, title, note), d.range, first.unit, lines,
      first.unit === "pct" ? { yMax: 100 } : undefined);
    chart.canvas.dataset.metric = chartKey;
    charts.push(chart);
  }

  function deploymentCharts(boxes, d) {
    charts.push(C.lineChart(C.panel(boxes.gpu, "Load: GPUs busy (Σ utilization ÷ 100)",
      C.noData(d, ["gpus_busy"]) ? "No rollups in this range yet." : ""), d.range, "gpus",
      [{ label: "GPUs busy", t: d.t, values: d.gpus_busy }]));
    charts[charts.length - 1].canvas.dataset.metric = "gpu.util_pct";
    deploymentGroups(d).forEach((columns, chartKey) => {
      if (chartKey === "gpu.util_pct") return; // drawn above, in GPUs
      deploymentChart(boxes[d.metrics[columns[0]].entity], d, chartKey, columns);
    });
  }

  function deploymentPage(root) {
    const url = root.dataset.series;
    const boxes = { gpu: document.getElementById("deployment-gpu-charts"),
      server: document.getElementById("deployment-server-charts"),
      host: document.getElementById("deployment-host-charts") };
    rangePicker(root, async (query) => {
      const d = await C.fetchJson(url + "?" + query);
      reset(Object.values(boxes));
      deploymentCharts(boxes, d);
      return d.range;
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
      const value = item.reported === false ? "not reported" : withUnit(fmt(item.value), item.unit);
      const threshold = item.threshold === null || item.threshold === undefined ? "—" : withUnit(fmt(item.threshold), item.unit);
      const title = item.metric + " — " + item.statistic + ": " + value + " (threshold " + threshold + ")";
      const note = "Window " + item.window_days + " days, " + item.coverage_pct + "% covered by data.";
      const canvas = C.panel(box, title, note);
      const s = item.series;
      if (s && s.t.length) {
        const days = item.window_days || 14;
        const to = s.t[s.t.length - 1] + 3600000;
        const range = { from: Math.min(s.t[0], to - days * 86400000), to };
        const u = chartUnit(item.unit);
        const scaled = (values) => (u.factor === 1 ? values : values.map((v) => (v === null ? null : v * u.factor)));
        const lines = [];
        if (s.mean) lines.push({ label: "hourly mean", t: s.t, values: scaled(s.mean) });
        if (s.peak) lines.push({ label: "hourly max", t: s.t, values: scaled(s.peak), color: "#a855f7" });
        if (s.total) lines.push({ label: "hourly total", t: s.t, values: scaled(s.total) });
        if (item.threshold !== null) {
          lines.push({ label: "threshold", flat: item.threshold * u.factor, dashed: true, color: "#ef4444" });
        }
        charts.push(C.lineChart(canvas, range, u.key, lines, { yTitle: u.title }));
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
  // "99.64%" (a percent sign sits on its number, as the evidence table writes it), "24.9 requests".
  function withUnit(text, unit) {
    if (!unit) return text;
    return unit.indexOf("%") === 0 ? text + unit : text + " " + unit;
  }
  // Evidence speaks the reader's units ("%", "% of memory", "requests", "GiB"); charts take units.md's keys,
  // and `factor` turns the evidence's values into that key's base unit (GiB → bytes).
  const EVIDENCE_UNITS = { requests: ["count"], GiB: ["bytes", C.GIB], W: ["w"], "°C": ["celsius"], MHz: ["mhz"],
    ms: ["ms"], "tokens/s": ["tps"], "requests/s": ["per_s"], GPUs: ["gpus"], USD: ["usd"], "$": ["usd"] };
  function chartUnit(unit) {
    if (unit && unit.indexOf("%") === 0) return { key: "pct", factor: 1 };
    const known = EVIDENCE_UNITS[unit] || (C.UNITS[unit] ? [unit] : null);
    if (known) return { key: known[0], factor: known[1] || 1 };
    return { key: "ratio", factor: 1, title: unit || undefined };
  }

  const page = document.body.dataset.page;
  const root = document.querySelector("[data-chart-root]");
  if (!root) return;
  if (page === "host") hostPage(root);
  if (page === "gpu") gpuPage(root);
  if (page === "deployment") deploymentPage(root);
  if (page === "recommendation") evidencePage(root);
})();
