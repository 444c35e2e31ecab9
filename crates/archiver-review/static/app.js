// Progressive enhancement for the review pages: playback once a reason is given,
// click-to-seek from transcript lines, a waveform above each player (click to seek),
// select-all on the results, export progress.
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

  // Waveform peaks (GET /api/v1/peaks/{key}: a 16-byte header "ZAPK", version 1, 8-bit
  // values, window ms u16, sample rate u32, count u32, little-endian; then count pairs of
  // (min, max) as int8) drawn on a canvas above each player, with a playhead. A click seeks
  // the player to that fraction of its duration. Without script, the players alone.
  function parsePeaks(buf) {
    if (buf.byteLength < 16) { return null; }
    var d = new DataView(buf);
    if (String.fromCharCode(d.getUint8(0), d.getUint8(1), d.getUint8(2), d.getUint8(3)) !== "ZAPK" ||
        d.getUint8(4) !== 1 || d.getUint8(5) !== 8) { return null; }
    var n = d.getUint32(12, true);
    if (buf.byteLength !== 16 + 2 * n || n === 0) { return null; }
    return { windowMs: d.getUint16(6, true), count: n, pairs: new Int8Array(buf, 16, 2 * n) };
  }

  function mediaDuration(p, peaks) {
    return isFinite(p.duration) && p.duration > 0 ? p.duration : peaks.count * peaks.windowMs / 1000;
  }

  function drawWave(c, p, peaks) {
    var ratio = window.devicePixelRatio || 1;
    var w = Math.max(1, Math.round(c.clientWidth * ratio));
    var h = Math.max(1, Math.round(c.clientHeight * ratio));
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    var g = c.getContext("2d");
    g.clearRect(0, 0, w, h);
    var loud = 1;
    for (var k = 0; k < peaks.pairs.length; k++) { loud = Math.max(loud, Math.abs(peaks.pairs[k])); }
    var mid = h / 2, scale = (h / 2 - 1) / loud;
    var played = (p.currentTime || 0) / mediaDuration(p, peaks);
    for (var x = 0; x < w; x++) {
      var i0 = Math.floor(x * peaks.count / w), i1 = Math.max(i0 + 1, Math.floor((x + 1) * peaks.count / w));
      var lo = 0, hi = 0;
      for (var i = i0; i < i1 && i < peaks.count; i++) {
        lo = Math.min(lo, peaks.pairs[2 * i]);
        hi = Math.max(hi, peaks.pairs[2 * i + 1]);
      }
      g.fillStyle = x / w < played ? "#1f3a5f" : "#8fa3bd";
      g.fillRect(x, mid - hi * scale, 1, Math.max(1, (hi - lo) * scale));
    }
    var at = Math.min(w - 1, Math.round(played * w));
    g.fillStyle = "#a4161a";
    g.fillRect(at, 0, Math.max(1, Math.round(ratio)), h);
  }

  function seekTo(p, seconds) {
    if (p.readyState >= 1) {
      p.currentTime = seconds;
      return;
    }
    p.preload = "metadata";
    p.addEventListener("loadedmetadata", function once() {
      p.removeEventListener("loadedmetadata", once);
      p.currentTime = Math.min(seconds, p.duration || seconds);
    });
    p.load();
  }

  players().forEach(function (p) {
    if (!p.dataset.src || !window.fetch || !window.DataView) { return; }
    fetch(p.dataset.src.replace("/api/v1/media/", "/api/v1/peaks/"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.arrayBuffer() : null; })
      .then(function (buf) {
        var peaks = buf && parsePeaks(buf);
        if (!peaks) { return; }
        var c = document.createElement("canvas");
        c.className = "wave";
        c.title = "Waveform: click to seek";
        c.setAttribute("aria-label", "Waveform of this recording: click to seek");
        p.parentNode.insertBefore(c, p);
        var redraw = function () { drawWave(c, p, peaks); };
        ["timeupdate", "seeked", "loadedmetadata", "durationchange", "play", "pause"].forEach(function (ev) {
          p.addEventListener(ev, redraw);
        });
        window.addEventListener("resize", redraw);
        c.addEventListener("click", function (e) {
          if (!p.getAttribute("src")) {
            var reason = document.getElementById("play-reason");
            if (reason) { reason.focus(); }
            return;
          }
          var box = c.getBoundingClientRect();
          var frac = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
          seekTo(p, frac * mediaDuration(p, peaks));
          redraw();
        });
        redraw();
      })
      .catch(function () {});
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
