// Every page: tell the server the viewer's time zone (a cookie), and show <time> elements in it.
(function () {
  "use strict";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  if (!document.cookie.split("; ").includes("tz=" + encodeURIComponent(zone))) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
  }
  const long = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  document.querySelectorAll("time[datetime]").forEach((el) => {
    const when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.textContent = long.format(when);
      el.title = when.toISOString();
    }
  });
  // Bars take their length from data-width-pct: the Content-Security-Policy refuses style attributes,
  // not styles set from a script file.
  document.querySelectorAll("[data-width-pct]").forEach((el) => {
    el.style.width = Number(el.dataset.widthPct) + "%";
  });
  const zoneEl = document.getElementById("viewer-zone");
  if (zoneEl) zoneEl.textContent = zone;
})();
