// Progressive enhancement for the review pages: playback once a reason is given,
// click-to-seek from transcript lines, select-all on the results, export progress.
(function () {
  "use strict";
  function players() { return Array.prototype.slice.call(document.querySelectorAll(".player")); }

  var form = document.getElementById("play-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var reason = document.getElementById("play-reason").value.trim();
      if (form.dataset.required === "true" && !reason) {
        document.getElementById("play-reason").focus();
        return;
      }
      players().forEach(function (p) {
        p.src = p.dataset.src + "&reason=" + encodeURIComponent(reason);
        p.preload = "metadata";
      });
      form.dataset.enabled = "true";
    });
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest(".seek") : null;
    if (!b) { return; }
    var p = players().filter(function (x) { return x.getAttribute("src"); })[0];
    if (!p) { return; }
    p.currentTime = parseFloat(b.dataset.t);
    p.play();
  });

  var all = document.getElementById("sel-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.sel").forEach(function (c) { c.checked = all.checked; });
    });
  }

  var jobs = document.getElementById("exports");
  if (jobs && jobs.hasAttribute("data-running")) {
    setTimeout(function () { window.location.reload(); }, 1000);
  }
})();
