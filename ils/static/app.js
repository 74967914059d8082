// SIPUS Bontang: small progressive enhancements. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // Ask before destructive POSTs: <button data-confirm="...">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Live progress bars for background jobs.
  var statusEl = document.getElementById("job-status-url");
  if (!statusEl) { return; }
  var url = statusEl.getAttribute("data-url");
  var reloadWhenDone = statusEl.getAttribute("data-reload-when-done") === "true";

  function pending() {
    return Array.prototype.slice.call(document.querySelectorAll(".job-progress[data-done='false']"));
  }

  function render(box, job) {
    var bar = box.querySelector(".progress-bar");
    var wrap = box.querySelector(".progress");
    bar.style.width = job.progress + "%";
    bar.textContent = job.progress + "%";
    wrap.setAttribute("aria-valuenow", String(job.progress));
    bar.classList.toggle("bg-danger", job.status === "failed");
    bar.classList.toggle("bg-success", job.status === "finished");
    bar.classList.toggle("progress-bar-animated", !job.done);
    bar.classList.toggle("progress-bar-striped", !job.done);
    var label = box.querySelector(".job-status");
    label.textContent = job.status_label + (job.message ? " · " + job.message : "");
    if (job.done) {
      box.setAttribute("data-done", "true");
      if (reloadWhenDone) { window.location.reload(); }
    }
  }

  function poll() {
    var boxes = pending();
    if (!boxes.length) { return; }
    var query = boxes.map(function (b) { return "id=" + encodeURIComponent(b.getAttribute("data-job-id")); }).join("&");
    fetch(url + "?" + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { jobs: [] }; })
      .then(function (data) {
        data.jobs.forEach(function (job) {
          var box = document.querySelector(".job-progress[data-job-id='" + job.id + "']");
          if (box) { render(box, job); }
        });
      })
      .catch(function () { /* offline for a moment: try again on the next tick */ })
      .then(function () { if (pending().length) { window.setTimeout(poll, 1000); } });
  }
  window.setTimeout(poll, 500);
})();
