// Interactive error-rate charts for faultline pages, drawn with uPlot
// (vendored in /static/vendor/uplot, MIT) from the JSON the page embeds
// beside its server-drawn SVG (figure.ts > script.ts-data). Without
// JavaScript, or if uPlot fails to load, the SVG stays.
//
// - drag across the chart to zoom in, double-click to zoom out; a link then
//   opens the zoomed range as a page (since/until in the URL);
// - the cursor is a crosshair; the legend below shows the time and every
//   service's errors/min under it;
// - width follows the page;
// - each service has its own colour (the server picks it, the same on every
//   page and in the reports);
// - changes are vertical markers coloured by risk; suspects are labelled
//   with their rank, the top suspect red; hovering a marker says what it
//   was, clicking it opens the raw event.
//
// A zoom survives the live refresh that replaces the page's content.
(function () {
  "use strict";
  var HEIGHT = 320;
  var TOP_RED = "#c0392b";
  var zooms = {};     // figure id -> {min, max} while zoomed
  var observers = []; // ResizeObservers of the charts on the page

  function fmtTime(ts) {
    var d = new Date(ts * 1000);
    function p(n) { return (n < 10 ? "0" : "") + n; }
    return d.getUTCFullYear() + "-" + p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + " " +
      p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + "Z";
  }
  // axisTimes labels the time axis in UTC, 24-hour, with the date where it
  // changes (and on the first tick).
  function axisTimes(u, splits) {
    var last = "";
    return splits.map(function (v) {
      var full = fmtTime(v), day = full.slice(0, 10), hm = full.slice(11, 16);
      var out = day !== last ? hm + "\n" + day.slice(5) : hm;
      last = day;
      return out;
    });
  }
  function isoTime(ts) { return new Date(Math.round(ts) * 1000).toISOString().replace(".000Z", "Z"); }
  function fmtRate(v) {
    if (v == null) { return "—"; }
    return (v >= 10 ? Math.round(v) : Math.round(v * 10) / 10) + "/min";
  }

  // markersPlugin draws the change markers and their labels, and shows a
  // marker's description under the cursor.
  function markersPlugin(fig, markers) {
    var tip = document.createElement("div");
    tip.className = "ts-tip";
    tip.hidden = true;
    var hover = null;
    function draw(u) {
      var ctx = u.ctx, r = uPlot.pxRatio, b = u.bbox;
      var rows = []; // label extents per row, to keep labels apart
      ctx.save();
      // suspects last, so they are drawn over the other markers
      var order = markers.slice().sort(function (a, c) { return (a.rank ? 10 - a.rank : 0) - (c.rank ? 10 - c.rank : 0); });
      order.forEach(function (m) {
        var x = Math.round(u.valToPos(m.t, "x", true));
        if (x < b.left || x > b.left + b.width) { return; }
        var color = m.top ? TOP_RED : m.color;
        ctx.strokeStyle = color;
        ctx.lineWidth = (m.top ? 2.5 : m.rank ? 2 : 1) * r;
        ctx.setLineDash(m.top ? [6 * r, 3 * r] : [4 * r, 3 * r]);
        ctx.beginPath();
        ctx.moveTo(x, b.top);
        ctx.lineTo(x, b.top + b.height);
        ctx.stroke();
        if (!m.label) { return; }
        ctx.setLineDash([]);
        ctx.font = (m.top ? "bold " : "") + Math.round(11 * r) + "px system-ui, sans-serif";
        var w = ctx.measureText(m.label).width;
        var right = x + 4 * r + w <= b.left + b.width;
        var lo = right ? x + 4 * r : x - 4 * r - w, hi = lo + w;
        var row = 0;
        while (rows[row] && rows[row].some(function (s) { return lo < s[1] + 6 * r && s[0] < hi + 6 * r; })) { row++; }
        (rows[row] = rows[row] || []).push([lo, hi]);
        ctx.fillStyle = "rgba(255,255,255,0.85)";
        var y = b.top + (4 + 13 * row) * r;
        ctx.fillRect(lo - 2 * r, y - 1 * r, w + 4 * r, 13 * r);
        ctx.fillStyle = color;
        ctx.textAlign = "left";
        ctx.textBaseline = "top";
        ctx.fillText(m.label, lo, y);
      });
      ctx.restore();
    }
    function near(u) {
      var left = u.cursor.left;
      if (left == null || left < 0) { return null; }
      var best = null, bestD = 6;
      markers.forEach(function (m) {
        var d = Math.abs(u.valToPos(m.t, "x") - left);
        if (d <= bestD) { best = m; bestD = d; }
      });
      return best;
    }
    return {
      hooks: {
        init: function (u) {
          u.over.appendChild(tip);
          var downX = null;
          u.over.addEventListener("mousedown", function (e) { downX = e.clientX; });
          u.over.addEventListener("click", function (e) {
            // a click, not the end of a drag (which zooms)
            if (hover && hover.href && downX != null && Math.abs(e.clientX - downX) < 3) { window.location.href = hover.href; }
          });
        },
        draw: draw,
        setCursor: function (u) {
          hover = near(u);
          u.over.style.cursor = hover && hover.href ? "pointer" : "";
          if (!hover) { tip.hidden = true; return; }
          tip.textContent = hover.title;
          tip.hidden = false;
          tip.setAttribute("data-rank", hover.rank || 0);
          var x = u.valToPos(hover.t, "x");
          var flip = x > u.over.clientWidth / 2;
          tip.style.left = flip ? "" : (x + 8) + "px";
          tip.style.right = flip ? (u.over.clientWidth - x + 8) + "px" : "";
        }
      }
    };
  }

  function build(fig) {
    var src = fig.querySelector("script.ts-data");
    if (!src || typeof uPlot === "undefined") { return; }
    var d;
    try { d = JSON.parse(src.textContent); } catch (e) { return; }
    if (!d.t || !d.t.length) { return; }
    var host = document.createElement("div");
    host.className = "ts-live";
    var bar = document.createElement("div");
    bar.className = "ts-bar";
    var link = document.createElement("a");
    link.className = "ts-zoom-link";
    link.hidden = true;
    link.textContent = "open this range";
    var reset = document.createElement("button");
    reset.type = "button";
    reset.className = "ts-reset";
    reset.hidden = true;
    reset.textContent = "zoom out";
    bar.appendChild(reset);
    bar.appendChild(link);
    fig.insertBefore(bar, fig.firstChild);
    fig.insertBefore(host, bar.nextSibling);

    var series = [{ label: "time (UTC)", value: function (u, v) { return v == null ? "—" : fmtTime(v); } }];
    var data = [d.t];
    d.series.forEach(function (s) {
      series.push({
        label: s.name, stroke: s.color, width: 1.8, dash: s.dash ? [6, 3] : undefined,
        fill: null, points: { show: false },
        value: function (u, v) { return fmtRate(v); }
      });
      data.push(s.values);
    });
    var opts = {
      width: Math.max(300, fig.clientWidth),
      height: HEIGHT,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true, min: d.since, max: d.until } },
      series: series,
      axes: [{ values: axisTimes }, { label: d.ylabel, size: 50 }],
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      legend: { live: true },
      plugins: [markersPlugin(fig, d.markers || [])],
      hooks: {
        setScale: [function (u, key) {
          if (key !== "x") { return; }
          var min = u.scales.x.min, max = u.scales.x.max;
          var zoomed = min > d.since + 1 || max < d.until - 1;
          fig.setAttribute("data-zoomed", zoomed ? "1" : "0");
          link.hidden = reset.hidden = !zoomed;
          if (zoomed) {
            zooms[fig.id] = { min: min, max: max };
            if (d.range_href) {
              var sep = d.range_href.indexOf("?") < 0 ? "?" : "&";
              link.href = d.range_href + sep + "since=" + encodeURIComponent(isoTime(min)) + "&until=" + encodeURIComponent(isoTime(max));
            } else {
              link.hidden = true;
            }
            fig.setAttribute("data-zoom-since", isoTime(min));
            fig.setAttribute("data-zoom-until", isoTime(max));
          } else {
            delete zooms[fig.id];
            fig.removeAttribute("data-zoom-since");
            fig.removeAttribute("data-zoom-until");
          }
        }]
      }
    };
    var u = new uPlot(opts, data, host);
    reset.addEventListener("click", function () { u.setScale("x", { min: d.since, max: d.until }); });
    fig.classList.add("ts-ready");
    var z = zooms[fig.id];
    if (z) { u.setScale("x", z); }
    if (typeof ResizeObserver !== "undefined") {
      var ro = new ResizeObserver(function () {
        var w = Math.max(300, fig.clientWidth);
        if (Math.abs(w - u.width) > 2) { u.setSize({ width: w, height: HEIGHT }); }
      });
      ro.observe(fig);
      observers.push(ro);
    }
  }

  function init(root) {
    observers.forEach(function (o) { o.disconnect(); });
    observers = [];
    var figs = (root || document).querySelectorAll("figure.ts");
    for (var i = 0; i < figs.length; i++) {
      try { build(figs[i]); } catch (e) { console.error("faultline chart " + figs[i].id + ": " + e); /* the SVG stays */ }
    }
  }
  window.faultlineCharts = { init: init };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
