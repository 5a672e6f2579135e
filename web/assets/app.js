// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Countdowns to shutdown: <span data-expires="RFC 3339">.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.expires) - now) / 60000);
      el.textContent = left <= 0 ? "now" : "in " + Math.floor(left / 60) + "h " + ("0" + (left % 60)).slice(-2) + "m";
    });
  }
  tick();
  setInterval(tick, 30000);

  // A preview's logs refresh while it runs: <pre data-refresh="/previews/ID/logs">.
  var logs = document.querySelector("[data-refresh]");
  if (logs) {
    setInterval(function () {
      fetch(logs.dataset.refresh, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) { if (text !== null && text !== logs.textContent) { logs.textContent = text; } })
        .catch(function () {});
    }, 10000);
  }

  // Picking a UI PR that says "Requires DSpace/DSpace#N" suggests that backend PR.
  var ui = document.querySelector("input[name=ui_pr]");
  var backend = document.querySelector("input[name=backend_pr]");
  var hint = document.getElementById("pair-hint");
  if (ui && backend && hint) {
    ui.addEventListener("change", function () {
      var opt = document.querySelector('#ui-prs option[value="' + ui.value.replace(/[^0-9]/g, "") + '"]');
      var needs = opt && opt.dataset.requires;
      if (needs && !backend.value) {
        backend.value = needs;
        hint.textContent = "UI PR #" + ui.value + " requires DSpace/DSpace#" + needs + ": filled in as the backend PR.";
      }
    });
  }
})();
