// Chart.js charts for the host, GPU, deployment and recommendation pages.
// Times come as epoch milliseconds and are drawn in the viewer's zone. Every value, on an axis or in a
// tooltip, is written in its unit (units.md's keys); the charts of a page share one crosshair, and
// dragging across any of them asks the page's range picker for that span.
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
  const KIB = 1024, MIB = 1024 ** 2, GIB = 1024 ** 3, TIB = 1024 ** 4;
  const MINUTE = 60000, HOUR = 3600000, DAY = 86400000;
  const Y_AXIS_WIDTH = 84; // px: "1,500 tok/s" and an axis title

  // ---- units -------------------------------------------------------------------------------------
  // Each unit lists its display scales, smallest first: [factor (base units per display unit), suffix].
  // A chart picks one scale from its largest value, so its ticks and its tooltips read alike; `shift`
  // is how many of the next scale's units that value needs first (10: "4,000 tok/s" stays so).
  const UNITS = {
    pct: { scales: [[1, "%"]], max: 100 },
    bytes: { scales: [[1, " B"], [KIB, " KiB"], [MIB, " MiB"], [GIB, " GiB"], [TIB, " TiB"]] },
    bps: { scales: [[1, " B/s"], [1e3, " kB/s"], [1e6, " MB/s"], [1e9, " GB/s"]] },
    w: { scales: [[1, " W"], [1e3, " kW"]] },
    celsius: { scales: [[1, " °C"]] },
    mhz: { scales: [[1, " MHz"]] },
    joules: { scales: [[3600, " Wh"], [3.6e6, " kWh"], [3.6e9, " MWh"]] },
    per_s: { scales: [[1, "/s"], [1e3, "k/s"]], shift: 10 },
    tps: { scales: [[1, " tok/s"], [1e3, "k tok/s"]], shift: 10 },
    ms: { scales: [[1, " ms"], [1000, " s"]], titles: ["milliseconds", "seconds"] },
    count: { scales: [[1, ""]], integer: true },
    ratio: { scales: [[1, ""]] },
    gpus: { scales: [[1, ""]], title: "GPUs busy" },
    usd: { scales: [[1, ""], [1e3, "k"], [1e6, "M"]], prefix: "$", shift: 10 },
  };
  const ALIASES = { req: "count", requests: "count" }; // the keys pages used before units.md

  function unitOf(key) {
    const k = ALIASES[key] || key;
    return UNITS[k] || { scales: [[1, ""]], title: key || "" };
  }

  // The scale a chart of values up to `max` shows: the largest whose factor (× shift) is not above it.
  function scaleFor(key, max) {
    const unit = unitOf(key);
    const m = Math.abs(Number(max)) || 0;
    let pick = unit.scales[0];
    for (const s of unit.scales) if (s === unit.scales[0] || m >= s[0] * (unit.shift || 1)) pick = s;
    const title = unit.titles ? unit.titles[unit.scales.indexOf(pick)] : undefined; // the unit shown, in words
    return { key, factor: pick[0], suffix: pick[1], prefix: unit.prefix || "", integer: !!unit.integer, title };
  }

  const numberFormats = new Map();
  function number(v, maxDigits, minDigits) {
    const id = maxDigits + "/" + (minDigits || 0);
    if (!numberFormats.has(id)) {
      numberFormats.set(id, new Intl.NumberFormat("en-US",
        { maximumFractionDigits: maxDigits, minimumFractionDigits: minDigits || 0 }));
    }
    return numberFormats.get(id).format(v);
  }

  function write(scale, text) {
    return (text.startsWith("-") ? "-" + scale.prefix + text.slice(1) : scale.prefix + text) + scale.suffix;
  }

  // A value in a scale with about three significant digits: 47.95 GiB, 512.3 MiB, 1,234 W, 0.042.
  function formatIn(scale, value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    const v = value / scale.factor;
    const a = Math.abs(v);
    let digits;
    if (scale.integer && Number.isInteger(v)) digits = 0;
    else if (scale.integer) digits = 1; // a mean of a count (2.4 running over five minutes)
    else if (a >= 1000) digits = 0;
    else if (a >= 100) digits = 1;
    else if (a >= 1 || a === 0) digits = 2;
    else digits = Math.min(6, 2 - Math.floor(Math.log10(a)));
    return write(scale, number(v, digits));
  }

  // format("bytes", 51490877160.6) → "47.95 GiB": the scale follows the value itself.
  function format(key, value, scale) {
    return formatIn(scale || scaleFor(key, value), value);
  }

  // A tick label: as many decimals as the step between ticks needs, so no two labels read alike.
  function tickLabel(scale, value, ticks) {
    const step = ticks && ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) / scale.factor : 0;
    const digits = step > 0 ? Math.max(0, Math.min(6, Math.ceil(-Math.log10(step) - 1e-9))) : 2;
    return write(scale, number(value / scale.factor, digits));
  }

  // ---- time axis ---------------------------------------------------------------------------------
  const TIME_STEPS = [MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR,
    3 * HOUR, 4 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 10 * DAY, 14 * DAY, 30 * DAY];
  const offsetMs = (t) => new Date(t).getTimezoneOffset() * MINUTE; // UTC − local

  // How many time labels an axis `width` px wide holds, 8 at most: "Nov 19" or "15:00" takes ~45 px with its gap.
  function timeRoom(width) {
    return Math.min(8, Math.max(4, Math.floor(width / 45)));
  }

  // Ticks on round local times (every 4 h on the hour, every day at midnight): the finest step whose labels
  // fit the axis, so a 30-day range reads every 5 days and a day every 4 hours, not two lonely dates.
  function timeTicks(min, max, width) {
    const span = max - min;
    const step = TIME_STEPS.find((s) => span / s <= timeRoom(width)) || Math.ceil(span / 8 / DAY) * DAY;
    const ticks = [];
    let local = Math.ceil((min - offsetMs(min)) / step) * step;
    for (let i = 0; i < 100; i++, local += step) {
      const t = local + offsetMs(local);
      if (t > max) break;
      if (t >= min) ticks.push({ value: t });
    }
    return { ticks, step };
  }

  const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  // Times of day on 24 hours ("09:30", "15:00", as Grafana's axes): short enough for 5 to 8 labels on a phone's
  // chart; the tooltip keeps the locale's own format.
  const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  // A tick's label: the date at local midnight (where a day starts on an hourly axis), else the time alone.
  function timeFormat(step) {
    return (v) => {
      const d = new Date(v);
      if (step >= DAY || (d.getHours() === 0 && d.getMinutes() === 0)) return dayFormat.format(v);
      return clockFormat.format(v);
    };
  }
  const whenFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  // ---- the page's group: one crosshair, one range ------------------------------------------------
  const group = { charts: new Set(), x: null, source: null, onRange: null, frame: 0 };

  // The point of each visible line nearest to time x; none where the line has a gap there or has no
  // point within about two of its steps (or 12 px). A flat line (a limit, a capacity) holds everywhere.
  function itemsAt(chart, x) {
    const items = [];
    const sx = chart.scales.x;
    const px = Math.abs(sx.getValueForPixel(12) - sx.getValueForPixel(0));
    chart.data.datasets.forEach((ds, i) => {
      const data = ds.data;
      if (!data.length || !chart.isDatasetVisible(i)) return;
      let lo = 0, hi = data.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (data[mid].x < x) lo = mid + 1; else hi = mid;
      }
      if (lo > 0 && Math.abs(data[lo - 1].x - x) < Math.abs(data[lo].x - x)) lo -= 1;
      const step = data.length > 1 ? (data[data.length - 1].x - data[0].x) / (data.length - 1) : 0;
      if (!ds.rsFlat && Math.abs(data[lo].x - x) > Math.max(2 * step, px)) return;
      const element = chart.getDatasetMeta(i).data[lo];
      if (data[lo].y === null || data[lo].y === undefined || !element || element.skip) return;
      items.push({ element, datasetIndex: i, index: lo });
    });
    return items;
  }

  Chart.Interaction.modes.rsTime = function (chart, event) {
    const area = chart.chartArea;
    if (!area || event.x < area.left || event.x > area.right) return [];
    return itemsAt(chart, chart.scales.x.getValueForPixel(event.x));
  };

  // Tooltips sit at the crosshair, not at the average of the points (a flat line's end is far away).
  Chart.Tooltip.positioners.rsCrosshair = function (items, eventPosition) {
    if (!items.length) return false;
    const chart = this.chart;
    const x = group.x !== null ? chart.scales.x.getPixelForValue(group.x) : eventPosition.x;
    const y = items.reduce((sum, it) => sum + it.element.y, 0) / items.length;
    return { x, y };
  };

  function onScreen(chart) {
    const r = chart.canvas.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.top < window.innerHeight;
  }

  // Every other chart shows the same time: its points and its tooltip at x, or nothing when x is null.
  // Only charts on screen are redrawn (a host page has a score of them); the rest catch up on scroll.
  function syncOthers() {
    group.frame = 0;
    group.charts.forEach((chart) => {
      if (chart === group.source || chart.$rsX === group.x || !onScreen(chart)) return;
      chart.$rsX = group.x;
      const items = group.x === null ? [] : itemsAt(chart, group.x);
      const px = group.x === null ? 0 : chart.scales.x.getPixelForValue(group.x);
      chart.setActiveElements(items);
      chart.tooltip.setActiveElements(items, { x: px, y: (chart.chartArea.top + chart.chartArea.bottom) / 2 });
      chart.draw();
    });
  }

  function schedule() {
    if (!group.frame) group.frame = requestAnimationFrame(syncOthers);
  }

  function setCrosshair(x, source) {
    if (x === group.x && source === group.source) return false;
    group.x = x;
    group.source = source;
    if (source) source.$rsX = x;
    schedule();
    return true;
  }
  window.addEventListener("scroll", schedule, { passive: true });

  const crosshairPlugin = {
    id: "rsCrosshair",
    afterInit(chart) { group.charts.add(chart); },
    afterDestroy(chart) {
      group.charts.delete(chart);
      if (group.source === chart) { group.source = null; group.x = null; }
    },
    afterEvent(chart, args) {
      const e = args.event;
      if (e.type === "mouseout") {
        if (group.source === chart && setCrosshair(null, null)) args.changed = true;
      } else if (e.type === "mousemove" || e.type === "touchmove" || e.type === "touchstart") {
        const x = args.inChartArea ? chart.scales.x.getValueForPixel(e.x) : null;
        if (setCrosshair(x, x === null ? null : chart)) args.changed = true;
      }
    },
    afterDatasetsDraw(chart) {
      const sx = chart.scales.x;
      if (group.x === null || group.x < sx.min || group.x > sx.max) return;
      const px = Math.round(sx.getPixelForValue(group.x)) + 0.5;
      const { ctx, chartArea } = chart;
      ctx.save();
      ctx.strokeStyle = cssVar("--muted") || "#888";
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(px, chartArea.top);
      ctx.lineTo(px, chartArea.bottom);
      ctx.stroke();
      ctx.restore();
    },
  };

  // The range picker tells the charts what a drag across them should do: fn(fromMs, toMs).
  function onRangeSelect(fn) { group.onRange = fn; }

  function zoomOptions() {
    return {
      zoom: {
        mode: "x",
        drag: { enabled: !!group.onRange, threshold: 8, backgroundColor: "rgba(59,130,246,0.15)",
          borderColor: "#3b82f6", borderWidth: 1 },
        onZoomComplete: ({ chart }) => {
          if (group.onRange) group.onRange(chart.scales.x.min, chart.scales.x.max);
        },
      },
    };
  }

  // ---- charts ------------------------------------------------------------------------------------
  function points(t, values) {
    const out = [];
    for (let i = 0; i < t.length; i++) out.push({ x: t[i], y: values[i] === undefined ? null : values[i] });
    return out;
  }

  function dataMax(datasets) {
    let m = 0;
    datasets.forEach((ds) => ds.data.forEach((p) => { if (p.y !== null && Math.abs(p.y) > m) m = Math.abs(p.y); }));
    return m;
  }

  function yAxis(unitKey, scale, max, opts) {
    const unit = unitOf(unitKey);
    const top = opts.yMax !== undefined ? opts.yMax : unit.max;
    const title = opts.yTitle || unit.title || scale.title;
    // One width for every y axis (unless its labels need more), so the charts of a column share
    // their time axis and the crosshair runs down the page as one line.
    const y = { beginAtZero: true, afterFit: (axis) => { axis.width = Math.max(axis.width, Y_AXIS_WIDTH); },
      // room above the largest value: a flat line (queue time steady at 10 s) shows below the top border
      suggestedMax: max > 0 ? max * 1.1 : undefined,
      ticks: { maxTicksLimit: 6, callback: (v, i, ticks) => tickLabel(scale, v, ticks) } };
    // Chart.js picks steps of 1/2/5 × 10^k × stepSize: a stepSize of a power of ten in the display
    // unit gives 10 GiB steps, not 0/47/93 GiB. Counts step by whole numbers only (no "1 1 1 0 0 0").
    const shown = max / scale.factor;
    if (scale.factor !== 1 && shown > 0) {
      y.ticks.stepSize = scale.factor * Math.pow(10, Math.floor(Math.log10(shown)) - 2);
    }
    if (unit.integer) y.ticks.precision = 0;
    if (top !== undefined) y.max = top;
    if (title) y.title = { display: true, text: title };
    return y;
  }

  // lines: [{label, t, values, color, dashed, flat}]; a `flat` value is drawn as a constant line.
  // opts: {yMax, yTitle}. The chart joins the page's crosshair and, under a range picker, drag-to-zoom.
  function lineChart(canvas, range, unitKey, lines, opts) {
    opts = opts || {};
    const datasets = lines.map((line, i) => {
      const color = line.color || PALETTE[i % PALETTE.length];
      const flat = line.flat !== undefined && line.flat !== null;
      const data = flat ? [{ x: range.from, y: line.flat }, { x: range.to, y: line.flat }] : points(line.t, line.values);
      return { label: line.label, data, rsFlat: flat, borderColor: color, backgroundColor: color, borderWidth: 1.5,
        borderDash: line.dashed ? [6, 4] : [], pointRadius: data.length < 3 ? 2 : 0, pointHoverRadius: 3,
        spanGaps: false, tension: 0 };
    });
    const max = dataMax(datasets);
    const scale = scaleFor(unitKey, max);
    let labelFormat = timeFormat(HOUR);
    return new Chart(canvas, {
      type: "line",
      data: { datasets },
      plugins: [crosshairPlugin],
      options: {
        parsing: false, normalized: true, interaction: { mode: "rsTime", intersect: false },
        scales: {
          x: { type: "linear", min: range.from, max: range.to, title: { display: true, text: "time (" + ZONE + ")" },
            afterBuildTicks: (axis) => {
              const { ticks, step } = timeTicks(axis.min, axis.max, axis.width);
              axis.ticks = ticks;
              labelFormat = timeFormat(step);
            },
            ticks: { autoSkip: false, maxRotation: 0, callback: (v) => labelFormat(v) } },
          y: yAxis(unitKey, scale, max, opts),
        },
        plugins: {
          legend: { display: lines.length > 1, labels: { boxWidth: 12 } },
          tooltip: { position: "rsCrosshair", callbacks: {
            title: (items) => {
              const point = items.find((it) => !it.dataset.rsFlat);
              const x = point ? point.parsed.x : group.x;
              return x === null || x === undefined ? "" : whenFormat.format(x);
            },
            label: (item) => (item.dataset.label ? item.dataset.label + ": " : "") + formatIn(scale, item.parsed.y),
          } },
          zoom: zoomOptions(),
        },
      },
    });
  }

  // Horizontal bars; with a unit key, the value axis and the tooltips in one scale picked from the largest bar
  // ("$6k … $12k", never "$8,000, $10k" on one axis). `names`: each bar's whole name for its tooltip, where
  // the axis shows it cut.
  function barChart(canvas, unitTitle, labels, values, colors, unitKey, names) {
    const x = { beginAtZero: true, title: { display: true, text: unitTitle } };
    const tooltip = { callbacks: {} };
    if (names) tooltip.callbacks.title = (items) => (items.length ? names[items[0].dataIndex] : "");
    if (unitKey) {
      const scale = scaleFor(unitKey, Math.max(0, ...values.map((v) => Math.abs(v || 0))));
      x.ticks = { callback: (v, i, ticks) => tickLabel(scale, v, ticks) };
      tooltip.callbacks.label = (item) => formatIn(scale, item.parsed.x);
    }
    return new Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ data: values, backgroundColor: colors }] },
      options: { indexAxis: "y", plugins: { legend: { display: false }, tooltip },
        // every category keeps its label: Chart.js would otherwise skip every other one when they crowd
        scales: { x, y: { ticks: { autoSkip: false } } } },
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

  // The JSON at url; a failure throws an Error with the server's `detail` and the HTTP `status`.
  async function fetchJson(url) {
    const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw Object.assign(new Error(body.detail || ("HTTP " + resp.status)), { status: resp.status });
    return body;
  }

  // ---- the range in the URL ----------------------------------------------------------------------
  function defaultRange() {
    const root = document.querySelector("[data-chart-root]");
    return (root && root.dataset.initial) || "24h";
  }

  // The page's range as a query string, from the page URL: "range=7d" or "from=<s>&to=<s>".
  function currentQuery() {
    const params = new URLSearchParams(window.location.search);
    const out = new URLSearchParams();
    if (params.get("from") || params.get("to")) {
      out.set("from", params.get("from") || "");
      out.set("to", params.get("to") || "");
    } else {
      out.set("range", params.get("range") || defaultRange());
    }
    return out.toString();
  }

  // Write a range query into the page URL, keeping its other parameters; push adds a history entry.
  function setQuery(query, push) {
    const params = new URLSearchParams(window.location.search);
    ["range", "from", "to"].forEach((k) => params.delete(k));
    new URLSearchParams(query).forEach((v, k) => params.set(k, v));
    const search = params.toString();
    const url = window.location.pathname + (search ? "?" + search : "") + window.location.hash;
    if (url !== window.location.pathname + window.location.search + window.location.hash) {
      window.history[push ? "pushState" : "replaceState"](null, "", url);
    }
  }

  // For tests and page scripts: the crosshair's time and each chart's tooltip lines.
  function crosshair() {
    return {
      x: group.x,
      charts: [...group.charts].map((c) => ({
        active: c.tooltip.getActiveElements().length,
        lines: c.tooltip.opacity ? (c.tooltip.body || []).flatMap((b) => b.lines) : [],
      })),
    };
  }

  window.RightsizerCharts = {
    lineChart, barChart, panel, noData, fetchJson, format, scaleFor, currentQuery, setQuery, onRangeSelect,
    crosshair, charts: () => [...group.charts], PALETTE, UNITS, GIB, whenFormat,
  };
})();
