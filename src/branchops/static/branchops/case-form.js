/* cases/new.html (complaints): the regulator's reference and deadline only matter for complaints
   transferred by the regulator. */
(function () {
  "use strict";
  var channel = document.getElementById("id_channel");
  if (!channel) return;
  var fields = ["id_regulator_reference", "id_regulator_due"].map(function (id) {
    var el = document.getElementById(id);
    return el ? el.closest(".mb-3") : null;
  }).filter(Boolean);
  function toggle() {
    fields.forEach(function (box) { box.hidden = channel.value !== "regulator"; });
  }
  channel.addEventListener("change", toggle);
  toggle();
})();
