// The SPARQL editor page: YASGUI (vendored, /static/yasgui/) on this service's endpoint, the bearer token
// from sessionStorage in the Authorization header, the cookbook questions as example tabs.
// Nothing is persisted (no localStorage), and the autocompleters that would call other sites are off.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var pages = window.ipkgPages;
    var examples = JSON.parse(document.getElementById("cookbook-examples").textContent);
    var root = document.getElementById("yasgui");
    var endpoint = new URL(root.getAttribute("data-endpoint"), window.location.href).href;
    var yasgui = null;
    pages.whenToken(function () {
      pages.checkToken().then(function (accepted) { if (accepted && !yasgui) { start(); } });
    });
    function start() {
      var forget = document.querySelector("[data-forget-token]");
      if (forget) { forget.hidden = false; }
      yasgui = new window.Yasgui(root, {
        persistenceId: null,
        copyEndpointOnNewTab: true,
        endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
        requestConfig: {
          endpoint: endpoint,
          method: "POST",
          headers: function () { return { "Authorization": "Bearer " + pages.getToken() }; }
        },
        yasqe: { persistenceId: null, autocompleters: ["prefixes", "variables"], showQueryButton: true },
        yasr: { persistenceId: null }
      });
      function open(example) {
        yasgui.addTab(true, { name: example.question.slice(0, 40), yasqe: { value: example.query } });
      }
      if (examples.length) {
        yasgui.getTab().setQuery(examples[0].query);
        yasgui.getTab().setName(examples[0].question.slice(0, 40));
      }
      document.querySelector("[data-open-example]").addEventListener("click", function () {
        open(examples[Number(document.querySelector("[data-example-select]").value)]);
      });
      window.ipkgYasgui = yasgui;
    }
  });
})();
