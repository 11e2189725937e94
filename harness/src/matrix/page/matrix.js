// The conformance page's filter and search (harness/src/matrix/page/): built into upfault, inlined into
// index.html. The state lives in the URL: #failures, #q=word (or ?q=word), so a link keeps it.
(function () {
  "use strict";
  var q = document.getElementById("q");
  var only = document.getElementById("failures");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#matrix tr.scenario"));
  var cats = Array.prototype.slice.call(document.querySelectorAll("#matrix tr.cat"));
  if (!q || !only) return;

  function fromUrl() {
    var hash = location.hash.replace(/^#/, "").split("&");
    var query = new URLSearchParams(location.search).get("q") || "";
    var failures = new URLSearchParams(location.search).has("failures");
    hash.forEach(function (part) {
      if (part === "failures") failures = true;
      else if (part.indexOf("q=") === 0) query = decodeURIComponent(part.slice(2).replace(/\+/g, " "));
    });
    q.value = query;
    only.checked = failures;
  }

  function toUrl() {
    var parts = [];
    if (only.checked) parts.push("failures");
    if (q.value.trim()) parts.push("q=" + encodeURIComponent(q.value.trim()));
    try {
      history.replaceState(null, "", location.pathname + (parts.length ? "#" + parts.join("&") : ""));
    } catch (e) { /* a file: URL may refuse; the filter still works */ }
  }

  function apply() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search").toLowerCase();
      var match = (!only.checked || row.getAttribute("data-fails") === "1") &&
        words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !match;
      if (match) count++;
    });
    cats.forEach(function (cat) {
      var any = rows.some(function (row) {
        return !row.hidden && row.getAttribute("data-category") === cat.getAttribute("data-category");
      });
      cat.hidden = !any;
    });
    shown.textContent = count + " of " + rows.length + " scenarios shown";
    document.body.setAttribute("data-shown", String(count));
  }

  fromUrl();
  apply();
  q.addEventListener("input", function () { apply(); toUrl(); });
  only.addEventListener("change", function () { apply(); toUrl(); });
  // A link within the page (#summary) changes the hash too: only a filter's hash sets the filter.
  window.addEventListener("hashchange", function () {
    if (!/(^#|&)(failures|q=)/.test(location.hash)) return;
    fromUrl();
    apply();
  });
})();
