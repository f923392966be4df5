// Chart.js charts for the host, deployment and recommendation pages.
// Times come as epoch milliseconds and are drawn in the viewer's zone; every axis says its unit.
(function () {
  "use strict";
  const css = getComputedStyle(document.documentElement);
  const cssVar = (name) => css.getPropertyValue(name).trim();
  Chart.defaults.color = cssVar("--muted");
  Chart.defaults.borderColor = cssVar("--grid");
  Chart.defaults.animation = false; // drawn at once: nothing to wait for, and tests can read the pixels
  Chart.defaults.maintainAspectRatio = false;
  const PALETTE = ["#3b82f6", "#f97316", "#10b981", "#a855f7", "#ef4444", "#eab308", "#06b6d4", "#ec4899"];
  const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const GIB = 1024 ** 3;

  const UNITS = {
    pct: { title: "%", tick: (v) => v + "%" },
    bytes: { title: "GiB", tick: (v) => (v / GIB).toFixed(v >= 10 * GIB ? 0 : 1) },
    bps: { title: "MB/s", tick: (v) => (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) },
    w: { title: "W", tick: (v) => Math.round(v) },
    req: { title: "requests", tick: (v) => v },
    tps: { title: "tokens/s", tick: (v) => Math.round(v) },
    gpus: { title: "GPUs busy", tick: (v) => v },
  };

  function timeFormat(spanMs) {
    const day = 86400000;
    return new Intl.DateTimeFormat(undefined, spanMs > 2 * day
      ? { month: "short", day: "numeric", hour: "2-digit" }
      : { hour: "2-digit", minute: "2-digit" });
  }

  function points(t, values) {
    const out = [];
    for (let i = 0; i < t.length; i++) out.push({ x: t[i], y: values[i] === undefined ? null : values[i] });
    return out;
  }

  // lines: [{label, t, values, color, dashed, flat}]; a `flat` value is drawn as a constant line.
  function lineChart(canvas, range, unitName, lines, opts) {
    const unit = UNITS[unitName] || { title: unitName || "value", tick: (v) => v };
    const fmt = timeFormat(range.to - range.from);
    const datasets = lines.map((line, i) => {
      const color = line.color || PALETTE[i % PALETTE.length];
      const data = line.flat !== undefined && line.flat !== null
        ? [{ x: range.from, y: line.flat }, { x: range.to, y: line.flat }]
        : points(line.t, line.values);
      return { label: line.label, data, borderColor: color, backgroundColor: color, borderWidth: 1.5,
        borderDash: line.dashed ? [6, 4] : [], pointRadius: data.length < 3 ? 2 : 0, spanGaps: false, tension: 0 };
    });
    const y = { beginAtZero: true, title: { display: true, text: unit.title }, ticks: { callback: unit.tick } };
    if (opts && opts.yMax !== undefined) y.max = opts.yMax;
    return new Chart(canvas, {
      type: "line",
      data: { datasets },
      options: {
        parsing: false, normalized: true, interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", min: range.from, max: range.to, title: { display: true, text: "time (" + ZONE + ")" },
            ticks: { maxTicksLimit: 7, callback: (v) => fmt.format(v) } },
          y,
        },
        plugins: {
          legend: { display: lines.length > 1, labels: { boxWidth: 12 } },
          tooltip: { callbacks: { title: (items) => items.length ? new Date(items[0].parsed.x).toLocaleString() : "" } },
        },
      },
    });
  }

  function barChart(canvas, unitTitle, labels, values, colors) {
    return new Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ data: values, backgroundColor: colors }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, title: { display: true, text: unitTitle } } } },
    });
  }

  // A chart panel: <div class="chart"><h3>…</h3><div class="box"><canvas></canvas></div><p class="note"></p></div>
  function panel(container, title, note) {
    const div = document.createElement("div");
    div.className = "chart";
    const h = document.createElement("h3");
    h.textContent = title;
    const box = document.createElement("div");
    box.className = "box";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", title);
    box.appendChild(canvas);
    div.append(h, box);
    if (note) {
      const p = document.createElement("p");
      p.className = "note";
      p.textContent = note;
      div.appendChild(p);
    }
    container.appendChild(div);
    return canvas;
  }

  function noData(cols, keys) {
    return !cols.t.length || keys.every((k) => cols[k].every((v) => v === null));
  }

  async function fetchJson(url) {
    const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.detail || ("HTTP " + resp.status));
    return body;
  }

  window.RightsizerCharts = { lineChart, barChart, panel, noData, fetchJson, PALETTE, UNITS, GIB };
})();
