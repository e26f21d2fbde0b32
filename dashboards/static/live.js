// Live refresh for faultline pages while ingest runs: every data-refresh
// seconds fetch the same URL and replace <main>. Pausable; the choice is
// remembered in localStorage. Without JavaScript the pages still work.
(function () {
  "use strict";
  var body = document.body;
  var secs = parseInt(body.getAttribute("data-refresh") || "0", 10);
  var btn = document.getElementById("live-toggle");
  if (!secs || !btn) { return; }
  var paused = window.localStorage.getItem("faultline.paused") === "1";
  function show() {
    btn.setAttribute("data-state", paused ? "off" : "on");
    btn.textContent = paused ? "paused · resume" : "live · pause";
  }
  btn.addEventListener("click", function () {
    paused = !paused;
    window.localStorage.setItem("faultline.paused", paused ? "1" : "0");
    show();
  });
  show();
  function tick() {
    if (paused || document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        var cur = document.getElementById("main");
        if (fresh && cur) {
          cur.replaceWith(fresh);
          if (window.faultlineCharts) { window.faultlineCharts.init(fresh); }
        }
        var foot = doc.querySelector("footer");
        if (foot) { document.querySelector("footer").textContent = foot.textContent; }
      })
      .catch(function () { /* keep the last good view; the next tick retries */ });
  }
  window.setInterval(tick, secs * 1000);
})();
