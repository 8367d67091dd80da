/* BranchOps: tiny behaviours that need no framework. */
(function () {
  "use strict";

  // BranchOps.esc(text): text made safe to put into HTML (ECharts tooltips are HTML; names are data).
  var ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return ENTITIES[c];
    });
  }
  // Tooltip formatter for charts with trigger "axis": the axis label, then "series: value" lines.
  // Written here rather than left to ECharts, whose own tooltip markup carries style="…" attributes
  // that the Content-Security-Policy blocks.
  function axisTooltip(params) {
    params = [].concat(params);
    var lines = params.length ? [esc(params[0].axisValueLabel)] : [];
    params.forEach(function (p) {
      var value = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
      lines.push(esc(p.seriesName) + ": " + esc(value === null || value === undefined ? "–" : value));
    });
    return lines.join("<br>");
  }

  // Tooltip formatter for pie charts: "name: value (percent%)".
  function itemTooltip(p) {
    return esc(p.name) + ": " + esc(p.value) + " (" + esc(p.percent) + "%)";
  }

  // Sizes known only when the page is rendered: data-height="300" (px) and data-width="40" (%).
  // Set through the CSSOM, which the Content-Security-Policy allows (a style="…" attribute it does not).
  function applySizes(root) {
    if (!root || !root.querySelectorAll) return;
    var nodes = [].slice.call(root.querySelectorAll("[data-height], [data-width]"));
    if (root.matches && root.matches("[data-height], [data-width]")) nodes.push(root);
    nodes.forEach(function (el) {
      var h = el.getAttribute("data-height"), w = el.getAttribute("data-width");
      if (h) el.style.height = parseFloat(h) + "px";
      if (w) el.style.width = parseFloat(w) + "%";
    });
  }
  applySizes(document);  // at once: the charts are drawn right after this script, at their height
  if (window.htmx) window.htmx.onLoad(applySizes);  // and in every fragment htmx swaps in

  window.BranchOps = window.BranchOps || {};
  window.BranchOps.esc = esc;
  window.BranchOps.axisTooltip = axisTooltip;
  window.BranchOps.itemTooltip = itemTooltip;
  window.BranchOps.json = function (id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  };

  // <button data-print>: print the page.  <a data-back>: go back (the link's href when there is no history).
  // <button data-clear-field="month">: empty that field of its form before the form is submitted.
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-print], [data-back], [data-clear-field]") : null;
    if (!el) return;
    if (el.hasAttribute("data-print")) {
      window.print();
    } else if (el.hasAttribute("data-back")) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    } else if (el.form) {
      var field = el.form.elements[el.getAttribute("data-clear-field")];
      if (field) field.value = "";
    }
  });

  // <select data-autosubmit>: submit the form as soon as the value changes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });

  // <button data-copy="#id">: copy the text of the target element.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var text = target.textContent.trim();
    var done = function () {
      var original = button.getAttribute("data-copied-label");
      if (original) {
        var label = button.querySelector("span");
        if (label) label.textContent = original;
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var range = document.createRange();
      range.selectNodeContents(target);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
    }
  });

  // <form data-confirm="…">: ask before submitting (revoking a token, applying an import).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
