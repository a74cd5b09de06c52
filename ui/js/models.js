// Models, a model (versions, badges, lineage, the stage timeline), and the
// policy in words. Which version held a stage at a time is shared with the
// audit page (audit.js).
"use strict";

(function () {
  const { h, append, number, time, commandBox, badge, table, facts, link, routeLink, shortCommit } = regent;

  const ASSIGN = new Set(["promote", "rollback"]);

  // Which version held each stage when: [{stage, version|null, from, to,
  // event, via, actor, commit}], from the model's events (oldest first).
  // A demote (or a hand edit emptying the stage) ends a holding.
  function holdings(events) {
    const open = new Map();
    const out = [];
    for (const e of events) {
      if (!e.stage || !(ASSIGN.has(e.event) || e.event === "demote")) continue;
      const current = open.get(e.stage);
      if (current) current.to = e.time;
      const entry = { stage: e.stage, version: ASSIGN.has(e.event) ? e.version : null, from: e.time, to: null, event: e.event, via: e.via, actor: e.actor, commit: e.commit };
      out.push(entry);
      open.set(e.stage, entry);
    }
    return out;
  }

  // The event that put the version holding `stage` at time `at` (ms) there,
  // from one model's events (oldest first); null when the stage was empty.
  function holderAt(events, stage, at) {
    let holder = null;
    for (const e of events) {
      if (e.stage !== stage || !(Date.parse(e.time) <= at)) continue;
      if (ASSIGN.has(e.event)) holder = e;
      else if (e.event === "demote") holder = null;
    }
    return holder;
  }

  // The policy's stages in order, then any other stage `extra` names.
  function stageOrder(registry, extra) {
    const declared = registry.policy.stages.map((s) => s.name);
    return [...declared, ...[...new Set(extra)].filter((s) => !declared.includes(s)).sort()];
  }

  function pointers(map, kind) {
    return Object.entries(map || {}).map(([name, v]) => badge((kind === "alias" ? "@" : "") + name + ": v" + v, kind));
  }

  async function models(main) {
    const registry = await regent.load("registry");
    append(main, 
      h("h1", null, "Models"),
      registry.models.length === 0
        ? h("p", { class: "empty" }, "No models registered yet.")
        : table(
            ["Model", "Description", "Stages", "Aliases", "Latest", "Versions"],
            registry.models.map((m) => [
              link(routeLink(["model", m.name]), m.name),
              m.description || "",
              pointers(m.stages, "stage"),
              pointers(m.aliases, "alias"),
              m.latest == null ? "" : "v" + m.latest,
              String(m.versions),
            ]),
            { class: "list", id: "models" },
          ),
      commandBox("To change this", [["register a model", ["regent", "register", "MODEL", "--artifact", "PATH_OR_URI", "--run", "EXPERIMENT/RUN"]]]),
    );
  }

  async function model(main, [name]) {
    const [registry, data] = await Promise.all([regent.load("registry"), regent.load("model/" + name)]);
    const m = data.model;
    append(main, 
      h("p", { class: "crumbs" }, link("#/models", "Models"), " / "),
      h("h1", null, "Model ", h("span", { class: "name" }, m.name)),
      m.description ? h("p", { class: "description", id: "description" }, m.description) : null,
      facts([
        ["Stages", pointers(m.stages, "stage")],
        ["Aliases", pointers(m.aliases, "alias")],
        ["Owners", (m.owners || []).join(", ")],
        ["Tags", Object.entries(m.tags || {}).map(([k, v]) => badge(k + "=" + v, "tag"))],
      ]),
    );

    // Versions, newest first, with their frozen metrics.
    const metricKeys = [...new Set(data.versions.flatMap((v) => Object.keys(v.metrics || {})))].sort();
    append(main, 
      h("h2", null, "Versions"),
      h(
        "table",
        { class: "versions", id: "versions" },
        h("thead", null, h("tr", null, ["Version", "Status", "Stages and aliases", "Created", "By", "Run", "Commit", ...metricKeys, "Description"].map((x) => h("th", null, x)))),
        h(
          "tbody",
          null,
          data.versions.slice().reverse().map((v) => {
            const [experiment, run] = (v.run || "").split("/");
            return h(
              "tr",
              { class: "version status-" + v.status, dataset: { version: String(v.version) } },
              [
                "v" + v.version,
                badge(v.status, "status-" + v.status),
                [v.stages.map((s) => badge(s, "stage")), v.aliases.map((a) => badge("@" + a, "alias"))],
                time(v.created_at),
                v.created_by,
                v.run ? link(routeLink(["run", experiment, run]), v.run) : "",
                h("code", null, shortCommit(v.source_commit)),
                ...metricKeys.map((k) => (v.metrics && k in v.metrics ? number(v.metrics[k]) : "")),
                v.description || "",
              ].map((c) => h("td", null, c)),
            );
          }),
        ),
      ),
    );

    // The timeline: which version held each stage when.
    const entries = holdings(data.events);
    const stages = stageOrder(registry, entries.map((e) => e.stage));
    const end = Date.parse(registry.time) || Date.now();
    const times = entries.map((e) => Date.parse(e.from)).filter(Number.isFinite);
    const start = times.length ? Math.min(...times) : end;
    const span = Math.max(1, end - start);
    const timeline = h("div", { class: "timeline", id: "timeline" });
    for (const stage of stages) {
      const own = entries.filter((e) => e.stage === stage);
      const bar = h("div", { class: "bar" });
      for (const e of own) {
        if (e.version === null) continue;
        const from = Date.parse(e.from);
        const to = e.to ? Date.parse(e.to) : end;
        const segment = h("span", { class: "segment" + (e.via === "manual" ? " manual" : ""), title: "v" + e.version + " from " + time(e.from) + (e.to ? " to " + time(e.to) : " until now") }, "v" + e.version);
        // Positions are set through the CSSOM, which the Content-Security-Policy allows.
        segment.style.left = ((100 * (from - start)) / span).toFixed(3) + "%";
        segment.style.width = Math.max(0.8, (100 * (to - from)) / span).toFixed(3) + "%";
        bar.append(segment);
      }
      timeline.append(h("div", { class: "lane" }, h("span", { class: "stage-name" }, stage), bar));
    }
    append(main, 
      h("h2", null, "Stage timeline"),
      h("p", { class: "muted" }, "Which version held each stage when. Hand edits (commits without regent's trailers) are marked manual."),
      timeline,
      entries.length === 0
        ? h("p", { class: "empty" }, "No version has held a stage yet.")
        : h(
            "table",
            { class: "timeline-list", id: "timeline-list" },
            h("thead", null, h("tr", null, ["Stage", "Version", "From", "To", "By", "Event", "Commit"].map((x) => h("th", null, x)))),
            h(
              "tbody",
              null,
              entries.map((e) =>
                h(
                  "tr",
                  { class: "timeline-entry" + (e.via === "manual" ? " manual" : ""), dataset: { stage: e.stage, version: e.version === null ? "" : String(e.version), via: e.via } },
                  [
                    e.stage,
                    e.version === null ? "(empty)" : "v" + e.version,
                    time(e.from),
                    e.to ? time(e.to) : "now",
                    e.actor || "",
                    [e.event, e.via === "manual" ? badge("manual", "manual") : null],
                    h("code", null, shortCommit(e.commit)),
                  ].map((c) => h("td", null, c)),
                ),
              ),
            ),
          ),
    );
    const latest = data.versions.length ? data.versions[data.versions.length - 1].version : "VERSION";
    const firstStage = stages[0] || "STAGE";
    append(main, commandBox("To change this", [
      ["promote a version", ["regent", "promote", m.name, String(latest), "--to", firstStage, "--pr"]],
      ["roll a stage back", ["regent", "rollback", m.name, "--stage", firstStage]],
      ["set an alias", ["regent", "alias", "set", m.name, "champion", String(latest)]],
      ["deprecate a version", ["regent", "deprecate", m.name, String(latest), "--reason", "TEXT"]],
      ["describe the model", ["regent", "describe", m.name, "TEXT"]],
    ]));
  }

  function approvals(count, approvers) {
    if (!count) return null;
    const who = approvers && approvers.length ? " from " + approvers.join(", ") : "";
    return count + " approval" + (count === 1 ? "" : "s") + who + " (the author never counts)";
  }

  function gateWords(g) {
    const out = [];
    if (g.min != null) out.push(g.metric + " must be at least " + number(g.min));
    if (g.max != null) out.push(g.metric + " must be at most " + number(g.max));
    if (g.max_regression != null) {
      const better = g.higher_is_better === false ? "lower" : "higher";
      out.push(g.metric + " may be at most " + number(g.max_regression) + " worse than the version now in the stage (" + better + " is better)");
    }
    return out;
  }

  async function policy(main) {
    const registry = await regent.load("registry");
    const p = registry.policy;
    append(main, h("h1", null, "Policy"), h("p", { class: "muted" }, "The rules of regent.yaml at this revision, in words. Every version starts in no stage."));
    const list = h("ol", { class: "stages", id: "policy-stages" });
    for (const s of p.stages) {
      const rules = [];
      if (s.description) rules.push(s.description);
      if (s.requires && s.requires.length) rules.push("A version must have been in " + s.requires.join(" and ") + " before.");
      const a = approvals(s.approvals, s.approvers);
      rules.push(a ? "Needs " + a + "." : "Needs no approval.");
      for (const g of s.gates || []) for (const w of gateWords(g)) rules.push("Gate: " + w + ".");
      rules.push(s.direct === false ? "Only through a pull request (direct: false): a local commit to the base branch is flagged by `regent check`." : "May be changed by a local commit or a pull request.");
      if (s.rollback && s.rollback.approvals != null) rules.push("A rollback needs " + (s.rollback.approvals === 0 ? "no approval" : s.rollback.approvals + " approvals") + ".");
      rules.push("Only active versions can be promoted to it.");
      list.append(h("li", { class: "stage", dataset: { stage: s.name } }, h("h3", null, s.name), h("ul", null, rules.map((r) => h("li", null, r)))));
    }
    append(main, h("h2", null, "Stages, in order"), list);
    const aliases = Object.entries(p.aliases || {});
    append(main, 
      h("h2", null, "Aliases"),
      aliases.length === 0
        ? h("p", { id: "policy-aliases" }, "No alias is protected: any alias may be set by anyone.")
        : h("ul", { id: "policy-aliases" }, aliases.map(([name, a]) => h("li", null, "@" + name + ": " + (approvals(a.approvals, a.approvers) ? "needs " + approvals(a.approvals, a.approvers) : "protected, no approval needed") + ".")),
          h("li", null, "Any other alias is free.")),
      h("h2", null, "The policy itself"),
      h("p", { id: "policy-owners" }, p.policy_owners && p.policy_owners.length
        ? "A pull request that changes regent.yaml needs approvals from its policy owners: " + p.policy_owners.join(", ") + ". The policy on the base judges a pull request, never the one in it."
        : "No policy owners: a change to regent.yaml needs no particular approval. The policy on the base judges a pull request, never the one in it."),
      p.tags ? facts([["Registration tags", p.tags.register], ["Assignment tags", p.tags.assign]]) : null,
      p.artifacts ? facts([["Artifact store", p.artifacts.root]]) : null,
      commandBox("To change this", [
        ["edit regent.yaml in a pull request, then check it", ["regent", "check", "--base", "origin/main"]],
        ["its schema", ["regent", "schema", "regent"]],
      ]),
    );
  }

  Object.assign(regent, { stageOrder, holderAt });
  regent.pages = Object.assign(regent.pages || {}, { models, model, policy });
})();
