/* queueing/imports.html: upload a ticket log with a progress bar; the server answers with a redirect
   to the import's page. */
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var bar = document.getElementById("i-progress"), inner = bar.querySelector(".progress-bar");
    bar.classList.remove("d-none");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round(100 * e.loaded / e.total);
      inner.style.width = pct + "%"; bar.setAttribute("aria-valuenow", pct); inner.textContent = pct + "%";
    };
    xhr.upload.onload = function () { document.getElementById("i-processing").classList.remove("d-none"); };
    xhr.onload = function () { window.location.href = xhr.responseURL || window.location.href; };
    xhr.onerror = function () { form.submit(); };
    xhr.send(new FormData(form));
  });
})();
