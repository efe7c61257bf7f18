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

  function whenToken(then) {
    var form = document.querySelector("[data-token-form]");
    if (getToken()) { then(); return; }
    showForm("");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      setToken(form.querySelector("input").value.trim());
      form.hidden = true;
      then();
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
        var page = new DOMParser().parseFromString(text, "text/html");
        var main = page.getElementById("content");
        var target = document.getElementById("content");
        if (!main) {
          target.replaceChildren(document.createTextNode("The service answered " + response.status + "."));
          return;
        }
        target.replaceChildren.apply(target, Array.prototype.map.call(main.childNodes, function (node) {
          return document.importNode(node, true);
        }));
        document.title = page.title;
        document.body.removeAttribute("data-shell");
        document.body.setAttribute("data-loaded", String(response.status));
        wireLinks(target);
      });
    }).catch(function (error) { showForm("The service could not be reached: " + error); });
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

  window.ipkgPages = { getToken: getToken, whenToken: whenToken, forgetToken: forgetToken, showForm: showForm };

  document.addEventListener("DOMContentLoaded", function () {
    showForget();
    if (document.body.getAttribute("data-shell") === "true") {
      whenToken(function () { showForget(); loadContent(); });
    } else {
      wireLinks(document);
    }
  });
})();
