// The router: `#/page/arg/arg?query` to a page of regent.pages. Hash routes
// work from disk (file://) and on any static host alike.
"use strict";

(function () {
  const { h } = regent;
  const ROUTES = {
    "": "experiments",
    experiment: "experiment",
    run: "run",
    compare: "compare",
    models: "models",
    model: "model",
    audit: "audit",
    policy: "policy",
  };
  let rendering = 0;

  function parseHash() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, search] = hash.split("?", 2);
    const parts = path.split("/").filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch (_) {
        return p;
      }
    });
    return { route: parts[0] || "", args: parts.slice(1), query: new URLSearchParams(search || "") };
  }

  async function header() {
    const registry = await regent.load("registry");
    const nav = document.getElementById("nav");
    nav.replaceChildren(
      h("a", { href: "#/", class: "brand" }, "regent"),
      h("a", { href: "#/" }, "Experiments"),
      h("a", { href: "#/models" }, "Models"),
      h("a", { href: "#/audit" }, "Audit"),
      h("a", { href: "#/policy" }, "Policy"),
      h("span", { class: "rev", id: "rev" }, registry.rev + " · " + regent.shortCommit(registry.commit) + (registry.time ? " · " + regent.time(registry.time) : "")),
    );
  }

  async function render() {
    const token = ++rendering;
    const main = document.getElementById("main");
    const { route, args, query } = parseHash();
    const page = regent.pages[ROUTES[route]];
    // Served: read the data again on each navigation, so a new commit shows.
    if (location.protocol !== "file:") regent.forget();
    regent.chart.clear();
    const next = h("div", { class: "page" });
    try {
      await header();
      if (!page) next.append(h("h1", null, "Not found"), h("p", null, "There is no page " + location.hash + "."));
      else await page(next, args, query);
    } catch (e) {
      next.replaceChildren(h("h1", null, "Could not show this page"), h("pre", { class: "error" }, String(e && e.message ? e.message : e)));
    }
    if (token !== rendering) return;
    main.replaceChildren(next);
    window.scrollTo(0, 0);
    document.body.dataset.ready = location.hash || "#/";
  }

  window.addEventListener("hashchange", render);
  render();
})();
