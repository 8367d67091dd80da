/* coordination/item_form.html: only the chosen target mode's choices are shown (the others are
   hidden and disabled, so what is sent is what is seen; without this script all are shown and the
   service refuses choices of another mode), and the outlet list gets a search box. */
(function () {
  "use strict";
  var card = document.querySelector("[data-targets]");
  if (!card) return;
  var fields = { by_type: "target_types", by_cluster: "target_clusters", list: "target_list" };
  function box(name) {
    var input = card.querySelector("[name='" + name + "']");
    return input ? input.closest(".mb-3") : null;
  }
  function chosen() {
    var radio = card.querySelector("input[name='target_mode']:checked");
    return radio ? radio.value : "";
  }
  function show() {
    var mode = chosen();
    Object.keys(fields).forEach(function (key) {
      var el = box(fields[key]);
      if (!el) return;
      el.hidden = key !== mode;
      el.querySelectorAll("input, select").forEach(function (input) {
        if (input.dataset.outletSearch === undefined) input.disabled = key !== mode;
      });
    });
  }
  card.querySelectorAll("input[name='target_mode']").forEach(function (radio) {
    radio.addEventListener("change", show);
  });
  show();

  var select = card.querySelector("select[name='target_list']");
  if (!select) return;
  var search = document.createElement("input");
  search.type = "search";
  search.className = "form-control form-control-sm mb-1";
  search.placeholder = card.dataset.searchLabel || "";
  search.setAttribute("aria-label", card.dataset.searchLabel || "");
  search.setAttribute("aria-controls", select.id);
  search.dataset.outletSearch = "";
  select.parentNode.insertBefore(search, select);
  select.size = 10;
  search.addEventListener("input", function () {
    var words = search.value.trim().toLowerCase();
    Array.prototype.forEach.call(select.options, function (option) {
      // chosen outlets stay in view, so a search never hides what will be sent
      option.hidden = words !== "" && !option.selected && option.text.toLowerCase().indexOf(words) < 0;
    });
  });
})();
