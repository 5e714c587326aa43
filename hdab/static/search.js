// Search as you type on /datasets. Without JavaScript the page is a plain GET form; with it, the
// results are fetched (debounced) and the URL kept in step, so a search can be shared.
(function () {
  "use strict";
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  if (!form || !input || !results) { return; }
  var timer = null;
  var latest = 0;

  // Facet selections live in the URL; mirror them in the form's hidden fields so typing keeps them.
  function syncForm(url) {
    var params = new URL(url, location.href).searchParams;
    Array.prototype.slice.call(form.querySelectorAll("input[type=hidden]")).forEach(function (field) {
      if (field.name !== "lang") { field.remove(); }
    });
    params.forEach(function (value, name) {
      if (name === "q" || name === "lang" || name === "page" || name === "partial") { return; }
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = name;
      field.value = value;
      form.appendChild(field);
    });
  }

  function load(url, push) {
    var ticket = ++latest;
    var partial = url + (url.indexOf("?") >= 0 ? "&" : "?") + "partial=1";
    fetch(partial, { headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || ticket !== latest) { return; }  // a newer search has started
        results.innerHTML = html;
        syncForm(url);
        if (push) { history.pushState(null, "", url); } else { history.replaceState(null, "", url); }
      })
      .catch(function () { /* keep the current results; the form still works */ });
  }

  function formUrl() {
    var params = new URLSearchParams(new FormData(form));
    return "/datasets?" + params.toString();
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { load(formUrl(), false); }, 250);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    load(formUrl(), true);
  });
  results.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-facet], a[rel=next]");
    if (!link) { return; }
    event.preventDefault();
    load(link.getAttribute("href").replace(/^\?/, "/datasets?"), true);
  });
  window.addEventListener("popstate", function () { load(location.pathname + location.search, false); });
})();
