/* Service-target charts (Apache ECharts): actual months, the trend to December and the target line.
   The data comes from a json_script element; tooltips escape every text; no inline styles (CSP). */
(function () {
  "use strict";
  if (!window.echarts || !window.BranchOps) return;
  var B = window.BranchOps, esc = B.esc;
  var data = B.json("service-target-charts");
  if (!data) return;

  function fmt(value, unit) {
    return value === null || value === undefined ? "–" : value + unit;
  }

  data.items.forEach(function (item) {
    var el = document.getElementById(item.id);
    if (!el) return;
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: {trigger: "axis", confine: true, formatter: function (params) {
        params = [].concat(params);
        var lines = params.length ? [esc(params[0].axisValueLabel)] : [];
        params.forEach(function (p) {
          if (p.value === null || p.value === undefined) return;
          lines.push(esc(p.seriesName) + ": " + esc(fmt(p.value, item.unit)));
        });
        return lines.join("<br>");
      }},
      legend: {bottom: 0, textStyle: {fontSize: 11}},
      grid: {left: 44, right: 12, top: 10, bottom: 48},
      xAxis: {type: "category", data: data.months},
      yAxis: {type: "value", scale: true},
      series: [
        {name: data.labels.actual, type: "bar", data: item.actual},
        {name: data.labels.trend, type: "line", data: item.trend, connectNulls: false, lineStyle: {type: "dashed"}},
        {name: data.labels.target, type: "line", symbol: "none", data: data.months.map(function () { return item.target; })}
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
