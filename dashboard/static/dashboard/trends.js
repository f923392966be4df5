// The trends page: the fleet's daily cost, utilization and busy GPUs, cost per million tokens per deployment,
// and the cost by label value, from the JSON the page carries (#trends-data).
(function () {
  "use strict";
  const C = window.RightsizerCharts;
  const source = document.getElementById("trends-data");
  if (!C || !source) return;
  const data = JSON.parse(source.textContent);
  const range = { from: data.from, to: data.to };
  const TOP = 8;

  // One point a day, and a day alone between gaps must still show: draw every point.
  function daily(chart) {
    chart.data.datasets.forEach((ds) => { ds.pointRadius = 2.5; });
    chart.update();
    return chart;
  }

  function fleetCharts(root, fleet, color) {
    if (!root) return;
    const days = fleet.t.length + " days";
    daily(C.lineChart(C.panel(root, "Cost per day", "Hours each host reported × its hourly price."), range,
      "usd", [{ label: "cost", t: fleet.t, values: fleet.cost_usd, color: color }]));
    daily(C.lineChart(C.panel(root, "Mean GPU utilization per day", "Time-weighted over every GPU that reported."),
      range, "pct", [{ label: "GPU utilization", t: fleet.t, values: fleet.util_pct, color: color }], { yMax: 100 }));
    daily(C.lineChart(C.panel(root, "GPUs busy and idle (daily mean)", "GPU-hours a day ÷ 24, over " + days + "."),
      range, "gpus", [
        { label: "busy", t: fleet.t, values: fleet.gpus_busy },
        { label: "idle", t: fleet.t, values: fleet.gpus_idle, color: "#9ca3af" },
      ], { yTitle: "GPUs" }));
  }

  function tokenCharts(root, listed) {
    // The table also lists deployments that cost money and generated nothing: they have no line to draw.
    const deployments = listed.filter((d) => d.tokens > 0);
    if (!root || !deployments.length) return;
    const shown = deployments.slice(0, TOP);
    const rest = deployments.length - shown.length;
    const note = "Gaps: days a deployment generated no tokens." +
      (rest > 0 ? " The " + TOP + " costliest of " + deployments.length + " deployments; the table lists all." : "");
    daily(C.lineChart(C.panel(root, "Cost per million generated tokens", note), range, "usd",
      shown.map((d) => ({ label: d.name.length > 40 ? d.name.slice(0, 39) + "…" : d.name, t: data.fleet.t,
        values: d.usd_per_million }))));
  }

  function labelChart(root, split) {
    if (!root || !split || !split.rows.length) return;
    const rows = split.rows.filter((r) => r.cost_usd !== null);
    const labels = rows.map((r) => (r.value.length > 30 ? r.value.slice(0, 29) + "…" : r.value));
    const colors = rows.map((r, i) => (r.unlabelled ? "#9ca3af" : C.PALETTE[i % C.PALETTE.length]));
    const canvas = C.panel(root, "Cost by " + (split.key.length > 40 ? split.key.slice(0, 39) + "…" : split.key),
      "Each value's hosts over the range.");
    // Every bar keeps its label (barChart does not skip any): the box grows so that a row of text fits each bar.
    canvas.parentElement.style.height = Math.max(210, 22 * rows.length + 60) + "px";
    // Dollars on the axis and in the tooltip in one scale (barChart's); the tooltip's title is the whole value.
    C.barChart(canvas, "cost over the range", labels, rows.map((r) => r.cost_usd), colors, "usd",
      rows.map((r) => r.value));
  }

  // A day as the form's date inputs and the URL write it, in UTC: the days are whole UTC days.
  function utcDay(ms) { return new Date(ms).toISOString().slice(0, 10); }

  // A drag across a chart shows the whole UTC days it spans (from/to in the URL, the page drawn again for them).
  C.onRangeSelect((fromMs, toMs) => {
    const params = new URLSearchParams(window.location.search);
    params.delete("days");
    params.set("from", utcDay(fromMs));
    params.set("to", utcDay(Math.max(fromMs, toMs - 1)));
    window.location.search = params.toString();
  });

  // The form sends a preset or a from/to, not both: choosing a preset empties the dates, and another label key
  // leaves the drilled value behind (it belongs to the key before).
  function formRules() {
    const days = document.getElementById("trends-days");
    const key = document.querySelector("#trends-form select[name=key]");
    const value = document.getElementById("trends-value");
    if (days) days.addEventListener("change", () => {
      if (!days.value) return;
      ["trends-from", "trends-to"].forEach((id) => { document.getElementById(id).value = ""; });
    });
    ["trends-from", "trends-to"].forEach((id) => document.getElementById(id).addEventListener("change", () => {
      if (days) days.value = "";
    }));
    if (key && value) key.addEventListener("change", () => value.remove());
  }

  formRules();
  fleetCharts(document.getElementById("fleet-charts"), data.fleet);
  if (data.drill) fleetCharts(document.getElementById("drill-charts"), data.drill.series, C.PALETTE[2]);
  tokenCharts(document.getElementById("token-charts"), data.deployments);
  labelChart(document.getElementById("label-charts"), data.labels);
})();
