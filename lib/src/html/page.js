// nettool HTML report: draws every chart the page describes with Chart.js (inlined above this
// script), then records what it drew so a test in a headless browser can check it:
//   each .chart element gets data-drawn="N points, P px" (data marks Chart.js laid out, and
//   canvas pixels that are not background), body gets data-nettool="done" and data-errors.
// The page makes no request: the runs, the chart descriptions and the library are all inline.
(function () {
  "use strict";
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message)); });
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];

  function inkPixels(canvas) {
    // Pixels that are not transparent: the axes, the grid, the marks.
    try {
      var ctx = canvas.getContext("2d");
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      var n = 0;
      for (var i = 3; i < img.length; i += 4) if (img[i] !== 0) ++n;
      return n;
    } catch (e) {
      errors.push("reading canvas: " + e.message);
      return 0;
    }
  }

  function axis(kind, log, title, isX, bar) {
    var a = {title: {display: true, text: title}};
    if (bar && isX) { a.type = "category"; return a; }
    a.type = log ? "logarithmic" : "linear";
    if (!log && !isX) a.beginAtZero = true;
    return a;
  }

  function config(spec) {
    var bar = spec.kind === "bar";
    var datasets = spec.series.map(function (s, i) {
      var color = palette[i % palette.length];
      var d = {label: s.label, borderColor: color, backgroundColor: bar ? color + "cc" : color,
               borderWidth: bar ? 1 : 2, pointRadius: s.style === "marker" ? 5 : 1.5};
      if (bar) {
        d.data = s.values;
      } else {
        d.data = s.xy.map(function (p) { return {x: p[0], y: p[1]}; });
        d.showLine = s.style !== "marker";
        if (s.style === "step") d.stepped = "before";
        if (s.style === "marker") { d.pointStyle = "triangle"; d.pointRadius = 6; }
        if (s.right_axis) d.yAxisID = "y2";
      }
      return d;
    });
    var horizontal = bar && spec.horizontal;
    var scales = {};
    var xa = axis(spec.kind, spec.x_log, spec.x_title, true, bar);
    var ya = axis(spec.kind, spec.y_log, spec.y_title, false, bar);
    if (horizontal) { scales.y = xa; scales.x = ya; } else { scales.x = xa; scales.y = ya; }
    if (!bar && spec.y2_title) {
      // A second quantity on the right (retransmissions beside throughput): its own scale, no grid.
      scales.y2 = axis(spec.kind, false, spec.y2_title, false, bar);
      scales.y2.position = "right";
      scales.y2.grid = {drawOnChartArea: false};
    }
    return {
      type: bar ? "bar" : "scatter",
      data: bar ? {labels: spec.categories, datasets: datasets} : {datasets: datasets},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        scales: scales,
        plugins: {legend: {display: spec.series.length > 1 || !bar}}
      }
    };
  }

  function draw() {
    var specs = JSON.parse(document.getElementById("nettool-charts").textContent);
    var drawn = 0;
    specs.forEach(function (spec) {
      var box = document.getElementById(spec.id);
      if (!box) { errors.push("no element for chart " + spec.id); return; }
      try {
        var canvas = box.querySelector("canvas");
        var chart = new Chart(canvas, config(spec));
        var points = 0;
        for (var i = 0; i < chart.data.datasets.length; ++i) points += chart.getDatasetMeta(i).data.length;
        var px = inkPixels(canvas);
        box.setAttribute("data-drawn", points + " points, " + px + " px");
        if (points > 0 && px > 0) ++drawn;
      } catch (e) {
        errors.push(spec.id + ": " + e.message);
        box.setAttribute("data-drawn", "failed");
      }
    });
    document.body.setAttribute("data-charts", drawn + " of " + specs.length);
  }

  try {
    if (typeof Chart === "undefined") throw new Error("Chart.js did not load");
    draw();
  } catch (e) {
    errors.push(e.message);
  }
  document.body.setAttribute("data-errors", String(errors.length));
  if (errors.length) {
    var p = document.createElement("pre");
    p.id = "nettool-errors";
    p.textContent = errors.join("\n");
    document.body.insertBefore(p, document.body.firstChild);
    console.error("nettool report: " + errors.join("; "));
  }
  document.body.setAttribute("data-nettool", "done");
})();
