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
    if (isNaN(when)) return;
    if (el.hasAttribute("data-relative")) { // a narrow column: "3 min. ago", the full time on hover
      el.textContent = relative(when);
      el.title = long.format(when);
    } else {
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

  // How long ago, in the largest whole unit: "now", "3 min. ago", "5 hr. ago", "yesterday", "4 mo. ago".
  function relative(when) {
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });
    const s = Math.round((when.getTime() - Date.now()) / 1000);
    const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      if (Math.abs(s) >= size) return rtf.format(Math.trunc(s / size), unit);
    }
    return rtf.format(0, "second");
  }
})();

// Buttons with data-confirm ask first (revokes, removals); a dismissed dialog posts nothing.
// The server still takes these actions by POST only, with the CSRF token.
document.addEventListener("click", (ev) => {
  const button = ev.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    ev.preventDefault();
  }
});

// Copy buttons: data-copy names the element whose text goes to the clipboard. Where the clipboard API is
// refused (plain HTTP, no permission) the text is selected instead, for Ctrl+C.
document.addEventListener("click", (ev) => {
  const button = ev.target.closest("button[data-copy]");
  const source = button && document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.textContent.trim();
  const label = button.textContent;
  const say = (words) => {
    button.textContent = words;
    setTimeout(() => { button.textContent = label; }, 2000);
  };
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say("Selected: press Ctrl+C");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => say("Copied"), select);
  } else {
    select();
  }
});
