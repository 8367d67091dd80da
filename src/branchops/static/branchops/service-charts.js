/* Service-grading charts (Apache ECharts), with the BranchOps helpers of branchops.js: the data comes
   from json_script elements, every tooltip escapes its text (outlet names are user data), no inline
   style attributes (CSP). */
(function () {
  "use strict";
  if (!window.echarts || !window.BranchOps) return;
  var B = window.BranchOps, esc = B.esc;
  var colours = {A: "#198754", B: "#0d6efd", C: "#ffc107", D: "#dc3545"};

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var chart = window.echarts.init(el);
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  // service/run.html: outlets per grade.
  var run = B.json("service-run-chart");
  if (run) {
    draw("chart-grades", {
      tooltip: {trigger: "item", confine: true, formatter: function (p) {
        return esc(p.name) + ": " + esc(p.value) + " " + esc(run.labels.outlets);
      }},
      grid: {left: 32, right: 8, top: 8, bottom: 24},
      xAxis: {type: "category", data: run.grades},
      yAxis: {type: "value", minInterval: 1},
      series: [{type: "bar", data: run.counts.map(function (n, i) {
        return {value: n, itemStyle: {color: colours[run.grades[i]]}};
      })}]
    });
  }

  // service/outlet.html: the outlet's score per published quarter.
  var trend = B.json("service-trend-chart");
  if (trend && trend.x.length) {
    draw("chart-outlet-trend", {
      tooltip: {trigger: "axis", formatter: B.axisTooltip},
      grid: {left: 40, right: 16, top: 8, bottom: 28},
      xAxis: {type: "category", data: trend.x},
      yAxis: {type: "value", min: 0, max: 100},
      series: [{name: trend.label, type: "line", data: trend.y}]
    });
  }
})();
