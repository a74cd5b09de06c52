// Experiments, the runs table (columns, sort, `--where` filter, pages), a run,
// and the comparison of runs.
"use strict";

(function () {
  const { h, append, number, time, duration, commandBox, badge, table, facts, link, routeLink, shortCommit } = regent;
  const PAGE_SIZES = [50, 200, 1000];

  // The value of a `--where` field in a table row, as src/cli/run/list.rs's
  // `field` gives it to the query.
  function field(run, path) {
    const { fieldValue } = RegentWhere;
    const dot = path.indexOf(".");
    if (dot >= 0) {
      const group = path.slice(0, dot);
      const key = path.slice(dot + 1);
      const own = (map) => (map && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : null);
      switch (group) {
        case "metrics": return fieldValue(own(run.metrics));
        case "params": return fieldValue(own(run.params) === null ? null : String(own(run.params)));
        case "tags": return fieldValue(own(run.tags) === null ? null : String(own(run.tags)));
        case "source": {
          const s = run.source;
          if (!s) return null;
          if (key === "dirty") return fieldValue(Boolean(s.dirty));
          if (key === "commit" || key === "branch" || key === "remote") return s[key] == null ? null : fieldValue(String(s[key]));
          return null;
        }
        default: return null;
      }
    }
    switch (path) {
      case "name": case "status": case "user": case "start_time":
        return fieldValue(run[path]);
      case "experiment": return fieldValue(run.experiment);
      case "id": return fieldValue(run.experiment + "/" + run.name);
      case "end_time": case "note":
        return run[path] == null ? null : fieldValue(run[path]);
      default: return null;
    }
  }

  // Ordering of two field values as `run list --sort` orders them.
  function compareValues(a, b) {
    const num = (v) => (v.type === "number" ? v.value : v.type === "text" && /\S/.test(v.value) && Number.isFinite(Number(v.value.trim())) ? Number(v.value.trim()) : null);
    const x = num(a);
    const y = num(b);
    if (x !== null && y !== null) return x - y;
    if (a.type === "text" && b.type === "text") return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
    if (x !== null) return 1;
    if (y !== null) return -1;
    return 0;
  }

  async function loadRuns(experiment) {
    const registry = await regent.load("registry");
    const info = registry.experiments.find((e) => e.name === experiment);
    if (!info) return null;
    const keys = [];
    for (let i = 0; i < info.chunks; i++) keys.push("runs/" + experiment + "/" + i);
    const chunks = await Promise.all(keys.map((k) => regent.load(k)));
    const runs = chunks.flatMap((c) => c.runs);
    runs.forEach((r) => (r.experiment = experiment));
    return { info, runs };
  }

  function keysOf(runs, group) {
    const keys = new Set();
    for (const r of runs) for (const k of Object.keys(r[group] || {})) keys.add(k);
    return [...keys].sort();
  }

  // ---- pages ----------------------------------------------------------------------------

  async function experiments(main) {
    const registry = await regent.load("registry");
    append(main, 
      h("h1", null, "Experiments"),
      registry.experiments.length === 0
        ? h("p", { class: "empty" }, "No experiment runs yet.")
        : table(
            ["Experiment", "Runs"],
            registry.experiments.map((e) => [link(routeLink(["experiment", e.name]), e.name), String(e.runs)]),
            { class: "list", id: "experiments" },
          ),
      commandBox("To add a run", [
        ["log a finished run", ["regent", "run", "log", "EXPERIMENT", "--param", "lr=0.01", "--metric", "accuracy=0.93"]],
        ["or track one as it goes", ["regent", "run", "start", "EXPERIMENT"]],
      ]),
    );
  }

  async function experiment(main, [name], query) {
    const loaded = await loadRuns(name);
    if (!loaded) {
      append(main, h("h1", null, "No experiment " + name));
      return;
    }
    const { runs } = loaded;
    const metrics = keysOf(runs, "metrics");
    const params = keysOf(runs, "params");
    const tags = keysOf(runs, "tags");
    const all = [...metrics.map((k) => "metrics." + k), ...params.map((k) => "params." + k), ...tags.map((k) => "tags." + k)];
    const chosen = query.has("cols")
      ? query.get("cols").split(",").filter((c) => all.includes(c))
      : [...metrics.slice(0, 6).map((k) => "metrics." + k), ...params.slice(0, 4).map((k) => "params." + k)];
    const where = query.get("where") || "";
    const sort = query.get("sort") || "start_time";
    const asc = query.get("asc") === "1";
    const pageSize = PAGE_SIZES.includes(Number(query.get("size"))) ? Number(query.get("size")) : PAGE_SIZES[0];
    const state = { cols: chosen.join(","), where, sort, asc: asc ? "1" : "", size: pageSize === PAGE_SIZES[0] ? "" : String(pageSize) };
    const go = (change) => {
      location.hash = routeLink(["experiment", name], Object.assign({}, state, { page: "" }, change));
    };

    append(main, h("h1", null, "Experiment ", h("span", { class: "name" }, name)));

    // The filter, parsed and run as the CLI runs it.
    let filtered = runs;
    let problem = null;
    if (where.trim()) {
      try {
        const q = RegentWhere.parse(where);
        filtered = runs.filter((r) => q.matches((path) => field(r, path)));
      } catch (e) {
        if (!(e instanceof RegentWhere.QueryError)) throw e;
        problem = e;
        filtered = [];
      }
    }
    const input = h("input", { type: "text", id: "where", value: where, placeholder: "metrics.accuracy > 0.9 and params.optimizer == \"adam\"", spellcheck: "false" });
    const form = h(
      "form",
      { class: "filter", onsubmit: (ev) => { ev.preventDefault(); go({ where: input.value }); } },
      h("label", { for: "where" }, "where"),
      input,
      h("button", { type: "submit" }, "Filter"),
      where ? h("button", { type: "button", onclick: () => go({ where: "" }) }, "Clear") : null,
    );
    append(main, form);
    if (problem) {
      append(main, h("pre", { class: "error", id: "where-error" }, where + "\n" + " ".repeat(Math.max(0, problem.column - 1)) + "^ " + problem.detail));
    }

    // Columns to show.
    const picker = h("details", { class: "columns" }, h("summary", null, "Columns (" + chosen.length + " of " + all.length + ")"));
    const boxes = all.map((c) => {
      const box = h("input", { type: "checkbox", value: c, checked: chosen.includes(c) });
      picker.append(h("label", null, box, " ", c));
      return box;
    });
    picker.append(h("button", { type: "button", onclick: () => go({ cols: boxes.filter((b) => b.checked).map((b) => b.value).join(",") }) }, "Apply"));
    append(main, picker);

    // Sort as `run list --sort` does: missing values last, newest first as the tie-break.
    const sorted = filtered.slice().sort((a, b) => {
      const x = field(a, sort);
      const y = field(b, sort);
      let order;
      if (x && y) order = asc ? compareValues(x, y) : compareValues(y, x);
      else order = x ? -1 : y ? 1 : 0;
      return order || (a.start_time < b.start_time ? 1 : a.start_time > b.start_time ? -1 : 0);
    });

    const pages = Math.max(1, Math.ceil(sorted.length / pageSize));
    const page = Math.min(pages, Math.max(1, Number(query.get("page")) || 1));
    const shown = sorted.slice((page - 1) * pageSize, page * pageSize);
    const selected = new Set();

    const header = (label, key) => {
      const active = sort === key;
      const arrow = active ? (asc ? " ▲" : " ▼") : "";
      return h("th", { class: active ? "sorted" : null }, h("a", { href: routeLink(["experiment", name], Object.assign({}, state, { sort: key, asc: active && !asc ? "1" : "" })) }, label + arrow));
    };
    const fixed = [["Run", "name"], ["Status", "status"], ["Started", "start_time"], ["Duration", "end_time"], ["User", "user"], ["Commit", "source.commit"]];
    const compareButton = h("button", { type: "button", id: "compare", disabled: true, onclick: () => {
      location.hash = routeLink(["compare"], { runs: [...selected].join(",") });
    } }, "Compare selected");
    const rows = shown.map((r) => {
      const box = h("input", { type: "checkbox", class: "select", onchange: (ev) => {
        const id = name + "/" + r.name;
        if (ev.target.checked) selected.add(id);
        else selected.delete(id);
        compareButton.disabled = selected.size < 2;
      } });
      const cells = [
        box,
        link(routeLink(["run", name, r.name]), r.name),
        badge(r.status, "status-" + r.status),
        time(r.start_time),
        duration(r.start_time, r.end_time),
        r.user,
        h("code", null, shortCommit(r.source && r.source.commit)),
        ...chosen.map((c) => {
          const v = field(r, c);
          return v ? (v.type === "number" ? number(v.value) : String(v.value)) : "";
        }),
      ];
      return h("tr", { class: "run", dataset: { run: r.name } }, cells.map((c) => h("td", null, c)));
    });
    append(main, 
      h("p", { class: "muted", id: "count" }, sorted.length + " of " + runs.length + " runs" + (where ? " match" : "")),
      h(
        "table",
        { class: "runs", id: "runs" },
        h("thead", null, h("tr", null, h("th", null, ""), fixed.map(([l, k]) => header(l, k)), chosen.map((c) => header(c, c)))),
        h("tbody", null, rows),
      ),
      h(
        "div",
        { class: "pager" },
        compareButton,
        page > 1 ? link(routeLink(["experiment", name], Object.assign({}, state, { page: page - 1 })), "‹ previous") : null,
        h("span", { id: "page" }, "page " + page + " of " + pages),
        page < pages ? link(routeLink(["experiment", name], Object.assign({}, state, { page: page + 1 })), "next ›") : null,
        h("span", null, " rows per page: "),
        PAGE_SIZES.map((s) => (s === pageSize ? h("b", null, String(s) + " ") : [link(routeLink(["experiment", name], Object.assign({}, state, { size: s === PAGE_SIZES[0] ? "" : s })), String(s)), " "])),
      ),
      commandBox("The same from the command line", [
        // `run list --sort` takes metrics and params; its default order is the table's (newest first).
        ["list these runs", ["regent", "run", "list", name, where ? "--where" : null, where || null,
          ...(/^(metrics|params)\./.test(sort) ? ["--sort", sort, asc ? "--asc" : null] : [])]],
        ["log another run", ["regent", "run", "log", name, "--param", "KEY=VALUE", "--metric", "KEY=VALUE"]],
      ]),
    );
  }

  async function run(main, [experimentName, runName]) {
    const data = await regent.load("run/" + experimentName + "/" + runName);
    const r = data.run;
    const source = r.source || {};
    append(main, 
      h("p", { class: "crumbs" }, link(routeLink(["experiment", experimentName]), experimentName), " / "),
      h("h1", null, "Run ", h("span", { class: "name" }, r.name), " ", badge(r.status, "status-" + r.status)),
      facts([
        ["Started", time(r.start_time)],
        ["Ended", time(r.end_time)],
        ["Duration", duration(r.start_time, r.end_time)],
        ["User", r.user],
        ["Commit", source.commit ? h("code", null, source.commit) : null],
        ["Branch", source.branch],
        ["Working tree", source.commit ? (source.dirty ? badge("dirty", "warn") : "clean") : null],
        ["Remote", source.remote],
      ]),
    );
    if (r.note) append(main, h("h2", null, "Note"), h("p", { class: "note", id: "note" }, r.note));
    const kv = (map, id, fmt) =>
      table(["Key", "Value"], Object.entries(map || {}).map(([k, v]) => [k, fmt ? fmt(v) : String(v)]), { class: "kv", id });
    append(main, h("h2", null, "Parameters"), kv(r.params, "params"));
    append(main, h("h2", null, "Metrics"), kv(r.metrics, "metrics", number));
    const histories = Object.entries(r.history || {});
    if (histories.length) {
      const charts = h("div", { class: "charts", id: "charts" });
      append(main, h("h2", null, "Metric histories"), charts);
      for (const [metric, points] of histories) {
        regent.chart.history(charts, metric, [{ label: r.name, points }]);
        const series = (r.series || {})[metric];
        if (series) charts.append(h("p", { class: "muted" }, metric + ": " + series.points + " points in all; the chart shows the " + points.length + " the run file keeps."));
      }
    }
    if ((r.artifacts || []).length) {
      append(main, 
        h("h2", null, "Artifacts"),
        table(["Path", "URI", "Digest", "Size"], r.artifacts.map((a) => [a.path || "", a.uri || "", h("code", null, a.digest || ""), a.size == null ? "" : String(a.size)]), { id: "artifacts" }),
      );
    }
    const env = r.environment;
    if (env) {
      append(main, h("h2", null, "Environment"), facts([["Interpreter", env.interpreter], ...Object.entries(env.lockfiles || {}).map(([k, v]) => [k, h("code", null, v)])]));
    }
    if (Object.keys(r.tags || {}).length) append(main, h("h2", null, "Tags"), kv(r.tags, "tags"));
    append(main, h("h2", null, "Versions registered from this run"));
    append(main, 
      data.versions.length
        ? table(["Model", "Version", "Status", "Stages and aliases"], data.versions.map((v) => [
            link(routeLink(["model", v.model]), v.model),
            "v" + v.version,
            v.status,
            [v.stages.map((s) => badge(s, "stage")), v.aliases.map((a) => badge("@" + a, "alias"))],
          ]), { id: "registered" })
        : h("p", { class: "empty" }, "None."),
    );
    append(main, commandBox("To change this", [
      ["register a model from this run", ["regent", "register", "MODEL", "--artifact", "PATH_OR_URI", "--run", r.id]],
      ["update the run", ["regent", "run", "update", r.id, "--metric", "KEY=VALUE"]],
      ["see it in a terminal", ["regent", "run", "show", r.id]],
    ]));
  }

  async function compare(main, _parts, query) {
    const ids = (query.get("runs") || "").split(",").filter(Boolean);
    const runs = (await Promise.all(ids.map((id) => regent.load("run/" + id)))).map((d) => d.run);
    append(main, h("h1", null, "Compare " + runs.length + " runs"));
    if (runs.length === 0) return;
    const rowFor = (group, key, fmt) => {
      const values = runs.map((r) => (r[group] && Object.prototype.hasOwnProperty.call(r[group], key) ? r[group][key] : null));
      const differs = new Set(values.map((v) => JSON.stringify(v))).size > 1;
      return h("tr", { class: differs ? "differs" : null }, h("th", null, group + "." + key), values.map((v) => h("td", null, v === null ? "—" : fmt(v))));
    };
    const union = (group) => [...new Set(runs.flatMap((r) => Object.keys(r[group] || {})))].sort();
    append(main, 
      h("p", { class: "muted" }, "Rows whose values differ are marked."),
      h(
        "table",
        { class: "compare", id: "compare-table" },
        h("thead", null, h("tr", null, h("th", null, ""), runs.map((r) => h("th", null, link(routeLink(["run", r.experiment, r.name]), r.experiment + "/" + r.name))))),
        h("tbody", null, union("params").map((k) => rowFor("params", k, String)), union("metrics").map((k) => rowFor("metrics", k, number))),
      ),
    );
    const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.history || {})))].sort();
    if (metrics.length) {
      const charts = h("div", { class: "charts", id: "charts" });
      append(main, h("h2", null, "Metric histories"), charts);
      for (const metric of metrics) {
        regent.chart.history(charts, metric, runs.filter((r) => (r.history || {})[metric]).map((r) => ({ label: r.name, points: r.history[metric] })));
      }
    }
    // The scatter: any numeric param or metric against a metric.
    const numeric = (group, key) => runs.some((r) => Number.isFinite(Number((r[group] || {})[key])));
    const xs = [...union("params").filter((k) => numeric("params", k)).map((k) => "params." + k), ...union("metrics").map((k) => "metrics." + k)];
    const ys = union("metrics").map((k) => "metrics." + k);
    if (xs.length && ys.length) {
      const x = xs.includes(query.get("x")) ? query.get("x") : xs[0];
      const y = ys.includes(query.get("y")) ? query.get("y") : ys.find((m) => m !== x) || ys[0];
      const select = (id, options, value, key) =>
        h("select", { id, onchange: (ev) => { location.hash = routeLink(["compare"], { runs: ids.join(","), x, y, [key]: ev.target.value }); } },
          options.map((o) => h("option", { value: o, selected: o === value }, o)));
      const value = (r, path) => {
        const [group, ...rest] = path.split(".");
        return Number((r[group] || {})[rest.join(".")]);
      };
      const box = h("div", { class: "charts", id: "scatter" });
      append(main, h("h2", null, "Scatter"), h("p", null, select("scatter-x", xs, x, "x"), " against ", select("scatter-y", ys, y, "y")), box);
      regent.chart.scatter(box, y + " against " + x, x, y, runs.map((r) => ({ x: value(r, x), y: value(r, y), label: r.name })));
    }
    append(main, commandBox("The same from the command line", [["compare", ["regent", "run", "compare", ...ids]]]));
  }

  regent.pages = Object.assign(regent.pages || {}, { experiments, experiment, run, compare });
})();
