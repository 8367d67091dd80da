/* BranchOps charts (Apache ECharts). Each page puts its data in a json_script element; this file draws
   the charts of whichever page it is on. Every tooltip formatter escapes its text (BranchOps.esc):
   tooltips are HTML and names are user data. Labels, axes and legends are drawn on the canvas.
   No ECharts markup with style="…" attributes, which the Content-Security-Policy blocks: axis and pie
   tooltips use BranchOps' formatters, and item tooltips are confined (else ECharts adds an arrow). */
(function () {
  "use strict";
  if (!window.echarts || !window.BranchOps) return;
  var B = window.BranchOps, esc = B.esc;

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) return null;
    var chart = window.echarts.init(el);
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }

  // dispatch/workload.html: outlet × week heat-map of load against capacity.
  function workload(data) {
    draw("chart-workload", {
      tooltip: {position: "top", confine: true, formatter: function (p) {
        var v = p.data, hours = " " + esc(data.labels.hours);
        var text = esc(data.outlets[v[1]]) + " · " + esc(data.weeks[v[0]]) + "<br>" + esc(data.labels.load) + ": " + esc(v[3]) + hours;
        text += v[4] ? " / " + esc(data.labels.capacity) + " " + esc(v[4]) + hours + " (" + Math.round(v[2] * 100) + "%)" : " · " + esc(data.labels.no_capacity);
        return text;
      }},
      grid: {left: 150, right: 16, top: 8, bottom: 70},
      xAxis: {type: "category", data: data.weeks, splitArea: {show: true}},
      yAxis: {type: "category", data: data.outlets, splitArea: {show: true}},
      visualMap: {type: "piecewise", dimension: 2, orient: "horizontal", left: "center", bottom: 0,
                  pieces: [{lt: data.warn, label: "< " + Math.round(data.warn * 100) + "%", color: "#cfe8d7"},
                           {gte: data.warn, lte: 1, label: Math.round(data.warn * 100) + "–100%", color: "#f0ad4e"},
                           {gt: 1, label: "> 100%", color: "#dc3545"}]},
      series: [{type: "heatmap", data: data.cells,
                label: {show: true, fontSize: 10, formatter: function (p) { return p.data[3] ? p.data[3] : ""; }},
                emphasis: {itemStyle: {borderColor: "#17365d", borderWidth: 1}}}]
    });
  }

  // cases/dashboard.html: backlog by type, cases by status, complaints per outlet per month.
  function casesDashboard(data) {
    draw("chart-backlog", {
      tooltip: {trigger: "axis", formatter: B.axisTooltip},
      legend: {data: data.backlog.series, top: 0},
      grid: {left: 40, right: 16, top: 36, bottom: 28},
      xAxis: {type: "category", data: data.backlog.labels},
      yAxis: {type: "value", minInterval: 1},
      series: [
        {name: data.backlog.series[0], type: "bar", data: data.backlog.open, itemStyle: {color: "#21497a"}},
        {name: data.backlog.series[1], type: "bar", data: data.backlog.overdue, itemStyle: {color: "#dc3545"}}
      ]
    });
    var statusColours = {new: "#0d6efd", accepted: "#0dcaf0", in_progress: "#ffc107", resolved: "#198754",
                         closed: "#6c757d", cancelled: "#ced4da"};
    draw("chart-status", {
      tooltip: {trigger: "item", confine: true, formatter: B.itemTooltip},
      legend: {bottom: 0, type: "scroll"},
      series: [{type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
                data: data.status.map(function (d) {
                  return {name: d.name, value: d.value, itemStyle: {color: statusColours[d.status]}};
                }),
                label: {formatter: "{b}\n{c}"}}]
    });
    draw("chart-outlets", {
      tooltip: {position: "top", confine: true, formatter: function (p) {
        return esc(data.outlets.outlets[p.value[1]]) + " · " + esc(data.outlets.months[p.value[0]]) + ": " + esc(p.value[2]);
      }},
      grid: {left: 150, right: 16, top: 8, bottom: 80},
      xAxis: {type: "category", data: data.outlets.months, splitArea: {show: true}},
      yAxis: {type: "category", data: data.outlets.outlets, splitArea: {show: true}},
      visualMap: {min: 0, max: Math.max(1, data.outlets.max), calculable: true, orient: "horizontal",
                  left: "center", bottom: 0, itemHeight: 120, inRange: {color: ["#f3f5f8", "#f0ad4e", "#dc3545"]}},
      series: [{type: "heatmap", data: data.outlets.cells, label: {show: true},
                emphasis: {itemStyle: {borderColor: "#17365d", borderWidth: 1}}}]
    });
  }

  // coordination/register.html: items by decision.
  function decisions(data) {
    var colours = {approved: "#198754", conditional: "#f0ad4e", rejected: "#dc3545"};
    draw("chart-decisions", {
      tooltip: {trigger: "item", confine: true, formatter: B.itemTooltip},
      legend: {bottom: 0},
      series: [{type: "pie", radius: ["35%", "65%"], center: ["50%", "45%"],
                data: data.map(function (d) { return {name: d.name, value: d.value, itemStyle: {color: colours[d.decision]}}; }),
                label: {formatter: "{b}\n{d}%"}}]
    });
  }

  // coordination/item.html: the post-release watch — target outlets against the others, week by week,
  // with the window's start marked (the weeks before it on the left, those from it on the right).
  function watchChart(data) {
    function lines(id, key, percent) {
      var scale = function (v) { return v === null ? null : (percent ? Math.round(v * 1000) / 10 : v); };
      draw(id, {
        title: {text: percent ? data.labels.overtime : data.labels.complaints, left: "center", textStyle: {fontSize: 13}},
        tooltip: {trigger: "axis", formatter: B.axisTooltip},
        legend: {data: [data.labels.treated, data.labels.control], bottom: 0},
        grid: {left: 48, right: 16, top: 36, bottom: 48},
        xAxis: {type: "category", data: data.weeks},
        yAxis: {type: "value", axisLabel: {formatter: percent ? "{value}%" : "{value}"}},
        series: [
          {name: data.labels.treated, type: "line", data: data.treated[key].map(scale), itemStyle: {color: "#dc3545"},
           markLine: {symbol: "none", silent: true, label: {formatter: data.labels.window},
                      lineStyle: {color: "#6c757d", type: "dashed"}, data: [{xAxis: data.window_index}]}},
          {name: data.labels.control, type: "line", data: data.control[key].map(scale), itemStyle: {color: "#21497a"}}
        ]
      });
    }
    lines("watch-chart", "overtime_ratio", true);
    lines("watch-chart-complaints", "complaints_per_10k", false);
  }

  // queueing/dashboard.html: the trend over the months and the ranking of the units.
  function queueDashboard(data) {
    draw("chart-trend", {
      tooltip: {trigger: "axis", formatter: B.axisTooltip}, legend: {bottom: 0},
      grid: {left: 48, right: 48, top: 16, bottom: 48},
      xAxis: {type: "category", data: data.months},
      yAxis: [{type: "value", name: "%"}, {type: "value", name: "min"}],
      series: [{name: data.labels.ratio, type: "line", data: data.ratio, smooth: true},
               {name: data.labels.wait, type: "bar", yAxisIndex: 1, data: data.wait, itemStyle: {opacity: 0.5}}]
    });
    if (data.ranking) {
      draw("chart-ranking", {
        tooltip: {trigger: "axis", formatter: B.axisTooltip}, grid: {left: 120, right: 24, top: 8, bottom: 24},
        xAxis: {type: "value", name: "%"}, yAxis: {type: "category", data: data.ranking.units},
        series: [{name: data.labels.ratio, type: "bar", data: data.ranking.ratio}]
      });
    }
  }

  // queueing/outlet.html: the two day × half-hour heat-maps and the forecast.
  function queueOutlet(heat, fc) {
    function heatmap(id, cells, label, pieces) {
      draw(id, {
        tooltip: {position: "top", confine: true, formatter: function (p) {
          return esc(heat.days[p.data[1]]) + " " + esc(heat.slots[p.data[0]]) + "<br>" + esc(label) + ": " + esc(p.data[2]);
        }},
        grid: {left: 56, right: 16, top: 8, bottom: 64},
        xAxis: {type: "category", data: heat.slots, splitArea: {show: true}},
        yAxis: {type: "category", data: heat.days, splitArea: {show: true}},
        visualMap: {type: "piecewise", dimension: 2, orient: "horizontal", left: "center", bottom: 0, pieces: pieces},
        series: [{type: "heatmap", data: cells}]
      });
    }
    if (heat) {
      heatmap("heat-wait", heat.wait, heat.labels.wait, [
        {lt: 5, label: "< 5", color: "#cfe8d7"}, {gte: 5, lt: 10, label: "5–10", color: "#f6e3a1"},
        {gte: 10, lt: 15, label: "10–15", color: "#f0ad4e"}, {gte: 15, label: "≥ 15", color: "#dc3545"}]);
      heatmap("heat-gap", heat.gap, heat.labels.gap, [
        {lt: 0, label: "< 0", color: "#9ec5fe"}, {value: 0, label: "0", color: "#e9ecef"},
        {gt: 0, lte: 1, label: "+1", color: "#f0ad4e"}, {gt: 1, label: "≥ +2", color: "#dc3545"}]);
    }
    if (fc) {
      draw("chart-forecast", {
        tooltip: {trigger: "axis", formatter: B.axisTooltip}, grid: {left: 40, right: 16, top: 8, bottom: 56},
        dataZoom: [{type: "slider", bottom: 0}], xAxis: {type: "category", data: fc.x},
        yAxis: {type: "value"}, series: [{name: fc.label, type: "bar", data: fc.y}]
      });
    }
  }

  var data;
  if ((data = B.json("workload-chart"))) workload(data);
  if ((data = B.json("cases-charts"))) casesDashboard(data);
  if ((data = B.json("coordination-decisions"))) decisions(data);
  if ((data = B.json("queue-chart"))) queueDashboard(data);
  if ((data = B.json("watch-data"))) watchChart(data);
  if (document.getElementById("heat-data")) queueOutlet(B.json("heat-data"), B.json("forecast-data"));
})();
