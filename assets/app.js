// pitwall's pages work without this script: forms post and pages reload. It adds two things:
// countdowns that tick every second, and live updates: the page's event stream says when
// something changed, and the page's own HTML is fetched again and put in place, so what is
// shown is always what the server renders.
"use strict";
(function () {
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = Math.max(0, Math.floor((Number(el.dataset.expires) - now) / 1000));
      var span = el.querySelector(".left");
      if (span) { span.textContent = Math.floor(left / 60) + ":" + pad(left % 60); }
      el.classList.toggle("low", left <= 30);
      if (left === 0 && !el.dataset.done) { el.dataset.done = "1"; refresh(); }
    });
  }
  var refreshing = false;
  function refresh() {
    if (refreshing) { return; }
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("page");
        var page = document.getElementById("page");
        if (next && page) {
          var focused = document.activeElement && document.activeElement.id;
          page.innerHTML = next.innerHTML;
          if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
          tick();
        }
      })
      .catch(function () {})
      .then(function () { refreshing = false; });
  }
  function follow() {
    var page = document.getElementById("page");
    var url = page && page.dataset.events;
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url);
    source.addEventListener("change", refresh);
    source.addEventListener("ended", function () { source.close(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    follow();
  });
})();
