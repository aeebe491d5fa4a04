// Competition pages: the operation timer on a score sheet, the scoring progress line and
// the print buttons. No inline scripts (the CSP forbids them): everything hooks on data- attributes.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function initTimer(box) {
    var display = box.querySelector("[data-timer-display]");
    var output = document.getElementById("seconds-used");
    var over = box.querySelector("[data-timer-over]");
    var limit = parseInt(box.dataset.limit, 10) || 0;
    var startedAt = null;   // ms timestamp while running
    var carried = parseInt(output && output.value, 10) || 0;  // seconds before the current run
    var ticker = null;

    function elapsed() {
      return carried + (startedAt ? Math.floor((Date.now() - startedAt) / 1000) : 0);
    }
    function show() {
      var s = elapsed();
      display.textContent = pad(Math.floor(s / 60)) + ":" + pad(s % 60);
      if (over) over.hidden = !(limit && s > limit);
      box.classList.toggle("border-danger", !!(limit && s > limit));
      if (output && startedAt) output.value = s;
    }
    function start() {
      if (startedAt) return;
      carried = parseInt(output.value, 10) || 0;
      startedAt = Date.now();
      ticker = window.setInterval(show, 250);
      show();
    }
    function stop() {
      if (!startedAt) return;
      carried = elapsed();
      startedAt = null;
      window.clearInterval(ticker);
      output.value = carried;
      show();
    }
    function reset() {
      stop();
      carried = 0;
      output.value = "";
      show();
    }
    var on = function (sel, fn) { var b = box.querySelector(sel); if (b) b.addEventListener("click", fn); };
    on("[data-timer-start]", start);
    on("[data-timer-stop]", stop);
    on("[data-timer-reset]", reset);
    if (output) output.addEventListener("input", function () { if (!startedAt) { carried = parseInt(output.value, 10) || 0; show(); } });
    // A running timer stops when the sheet is submitted, so the recorded time is final.
    var form = box.closest("form");
    if (form) form.addEventListener("submit", stop, true);
    show();
  }

  function initProgress(form) {
    var line = form.querySelector("[data-score-progress]");
    if (!line) return;
    var inputs = form.querySelectorAll("input.gd-score");
    function update() {
      var done = 0;
      inputs.forEach(function (i) { if (i.value !== "" && i.checkValidity()) done += 1; });
      line.textContent = "已评 " + done + " / " + inputs.length + " 项" + (done < inputs.length ? "，每一项都评分后才能提交" : "");
    }
    form.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-timer]").forEach(initTimer);
    var form = document.getElementById("sheet-form");
    if (form) initProgress(form);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  });
})();
