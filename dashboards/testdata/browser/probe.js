// probe.js: loaded into a dashboards page by the browser tests (their own
// handler adds it; the product never serves it). It waits for the
// interactive chart, reads its legend colours, moves the cursor over it
// (the crosshair's values), drags across it (the zoom) and writes what it
// saw as JSON into <pre id="probe-result"> for --dump-dom.
(function () {
  "use strict";
  var out = { charts: 0, canvases: 0, colors: {}, crosshair: {}, zoom: {}, errors: [] };
  function done() {
    var pre = document.createElement("pre");
    pre.id = "probe-result";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  function mouse(el, type, x, y) {
    var r = el.getBoundingClientRect();
    var ev = new MouseEvent(type, { bubbles: true, cancelable: true, view: window, button: 0, buttons: type === "mouseup" ? 0 : 1,
      clientX: r.left + x * r.width, clientY: r.top + y * r.height,
      // uPlot ignores a move without movement while a button is down
      movementX: type === "mousemove" ? 5 : 0, movementY: 0 });
    el.dispatchEvent(ev);
  }
  var tries = 0;
  function start() {
    var fig = document.querySelector("figure.ts.ts-ready");
    if (!fig) {
      if (++tries < 50) { setTimeout(start, 100); return; }
      out.errors.push("no interactive chart after 5 s");
      done();
      return;
    }
    out.charts = document.querySelectorAll("figure.ts.ts-ready").length;
    out.canvases = fig.querySelectorAll("canvas").length;
    out.fallbackHidden = getComputedStyle(fig.querySelector(".ts-fallback")).display === "none";
    out.width = fig.querySelector(".uplot").getBoundingClientRect().width;
    out.figureWidth = fig.clientWidth;
    var rows = fig.querySelectorAll(".u-legend .u-series");
    for (var i = 1; i < rows.length; i++) {
      var label = rows[i].querySelector(".u-label"), marker = rows[i].querySelector(".u-marker");
      if (label && marker) { out.colors[label.textContent] = getComputedStyle(marker).borderTopColor; }
    }
    var over = fig.querySelector(".u-over");
    mouse(over, "mouseenter", 0.6, 0.5);
    mouse(over, "mousemove", 0.6, 0.5);
    setTimeout(function () {
      var vals = fig.querySelectorAll(".u-legend .u-series");
      for (var i = 0; i < vals.length; i++) {
        var l = vals[i].querySelector(".u-label"), v = vals[i].querySelector(".u-value");
        if (l && v) { out.crosshair[l.textContent] = v.textContent; }
      }
      // brush from 30% to 50% of the plot
      mouse(over, "mousedown", 0.3, 0.5);
      mouse(over, "mousemove", 0.4, 0.5);
      mouse(over, "mousemove", 0.5, 0.5);
      mouse(over, "mouseup", 0.5, 0.5);
      setTimeout(function () {
        out.zoom = {
          zoomed: fig.getAttribute("data-zoomed"),
          since: fig.getAttribute("data-zoom-since"),
          until: fig.getAttribute("data-zoom-until"),
          link: (fig.querySelector("a.ts-zoom-link") || {}).href || "",
          linkHidden: (fig.querySelector("a.ts-zoom-link") || {}).hidden
        };
        done();
      }, 300);
    }, 300);
  }
  start();
})();
