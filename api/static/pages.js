// Token handling of the service's pages (no inline scripts: the CSP allows scripts from the service only).
// The bearer token is kept in sessionStorage (this tab, until it closes), sent only in the Authorization
// header of same-origin fetches, and never put in a URL or a cookie.
(function () {
  "use strict";
  var KEY = "ipkg-token";

  function getToken() { return window.sessionStorage.getItem(KEY); }
  function setToken(value) { window.sessionStorage.setItem(KEY, value); }
  function forgetToken() { window.sessionStorage.removeItem(KEY); }

  function authorized(url, accept) {
    return window.fetch(url, {
      headers: { "Authorization": "Bearer " + getToken(), "Accept": accept },
      credentials: "omit",
      cache: "no-store"
    });
  }

  function showForm(message) {
    var form = document.querySelector("[data-token-form]");
    var loading = document.querySelector("[data-loading]");
    if (loading) { loading.hidden = true; }
    if (!form) { return; }
    form.hidden = false;
    form.querySelector("[data-token-error]").textContent = message || "";
    form.querySelector("input").focus();
  }

  // Calls then() once a token is at hand, and again each time the form gives a new one.
  function whenToken(then) {
    var form = document.querySelector("[data-token-form]");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        setToken(form.querySelector("input").value.trim());
        form.querySelector("input").value = "";
        form.hidden = true;
        then();
      });
    }
    if (getToken()) { then(); } else { showForm(""); }
  }

  // Whether the service accepts the token for reading: one ASK query; on refusal the form asks again.
  function checkToken() {
    return window.fetch("/sparql", {
      method: "POST",
      headers: { "Authorization": "Bearer " + getToken(), "Content-Type": "application/sparql-query",
                 "Accept": "application/sparql-results+json" },
      body: "ASK {}",
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        forgetToken();
        return response.json().then(function (problem) {
          showForm("The service refused the token (" + response.status + "): " + problem.detail);
          return false;
        });
      }
      return true;
    });
  }

  // A shell page: fetch the page itself with the token and put its <main> in place.
  function loadContent() {
    var loading = document.querySelector("[data-loading]");
    if (loading) { loading.hidden = false; }
    authorized(window.location.href, "text/html").then(function (response) {
      if (response.status === 401 || response.status === 403) {
        forgetToken();
        return response.json().then(function (problem) { showForm(problem.detail); });
      }
      return response.text().then(function (text) {
        var target = document.getElementById("content");
        if ((response.headers.get("content-type") || "").indexOf("text/html") !== 0) {
          var detail = "";
          try { detail = JSON.parse(text).detail || ""; } catch (ignored) { detail = ""; }
          var heading = document.createElement("h1");
          heading.textContent = "The service answered " + response.status;
          var paragraph = document.createElement("p");
          paragraph.setAttribute("role", "alert");
          paragraph.textContent = detail;
          target.replaceChildren(heading, paragraph);
          document.body.setAttribute("data-loaded", String(response.status));
          return;
        }
        var page = new DOMParser().parseFromString(text, "text/html");
        var main = page.getElementById("content");
        target.replaceChildren.apply(target, Array.prototype.map.call(main.childNodes, function (node) {
          return document.importNode(node, true);
        }));
        document.title = page.title;
        document.body.removeAttribute("data-shell");
        document.body.setAttribute("data-loaded", String(response.status));
        wireLinks(target);
        wireForms(target);
      });
    }).catch(function (error) { showForm("The service could not be reached: " + error); });
  }

  // Filter forms: empty fields are left out of the URL (the API refuses an empty filter value).
  function wireForms(root) {
    root.querySelectorAll("form[method=get]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var query = new URLSearchParams();
        new FormData(form).forEach(function (value, name) { if (String(value) !== "") { query.append(name, value); } });
        var text = query.toString();
        window.location.assign(form.getAttribute("action") + (text ? "?" + text : ""));
      });
    });
  }

  // Links to token-protected resources (a case, a SHACL report): fetched with the token, shown as text.
  function wireLinks(root) {
    root.querySelectorAll("a[data-with-token]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        authorized(link.getAttribute("href"), link.getAttribute("data-accept") || "text/turtle").then(function (response) {
          return response.blob();
        }).then(function (blob) {
          window.location.assign(URL.createObjectURL(new Blob([blob], { type: "text/plain;charset=utf-8" })));
        });
      });
    });
  }

  function showForget() {
    var button = document.querySelector("[data-forget-token]");
    if (!button) { return; }
    button.hidden = !getToken();
    button.addEventListener("click", function () { forgetToken(); window.location.reload(); });
  }

  window.ipkgPages = { getToken: getToken, whenToken: whenToken, forgetToken: forgetToken, showForm: showForm,
                      checkToken: checkToken };

  document.addEventListener("DOMContentLoaded", function () {
    showForget();
    if (document.body.getAttribute("data-shell") === "true") {
      whenToken(function () { showForget(); loadContent(); });
    } else {
      wireLinks(document);
      wireForms(document);
    }
  });
})();
