// The audit trail: the registry's events with filters, newest first, 100 to
// a page, and "what version of MODEL was in STAGE at TIME".
//
// The history comes in chunks of events, newest first (data/history/N.js,
// chunk 0 the newest), with an index (data/history/index.js: the counts,
// each chunk's time span, the values the filters offer). A registry may hold
// hundreds of thousands of events: a page loads the index and only the
// chunks it reads.
"use strict";

(function () {
  const { h, append, time, commandBox, badge, table, link, routeLink, shortCommit } = regent;

  const PAGE = 100;
  const FIELDS = ["model", "stage", "event", "actor", "via"];

  // "2026-11-29", "2026-11-29 10:00" or RFC 3339; without a zone, UTC.
  function parseTime(text) {
    const t = (text || "").trim();
    if (!t) return null;
    let iso = t.replace(" ", "T");
    if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += "T00:00:00Z";
    else if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += "Z";
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? NaN : ms;
  }

  // The events that `match`, reading the history from position `start` (0
  // is the newest event) a chunk at a time, newest first, until `want` have
  // been found or every chunk has been read. Chunks that `skip` rules out
  // (by the index: their time span, models, stages, kinds) are passed over
  // unread. A chunk is read whole: its
  // further matches cost nothing, and tell the page there is more. Returns
  // the matches with their positions and the position the reading reached.
  async function scan(index, start, want, match, skip) {
    const size = index.chunk_size;
    const found = [];
    let pos = Math.min(Math.max(0, start), index.total);
    while (pos < index.total && found.length < want) {
      const n = Math.floor(pos / size);
      const end = Math.min(index.total, (n + 1) * size);
      if (!skip(index.chunks[n])) {
        const { events } = await regent.load("history/" + n);
        for (let p = pos; p < end; p++) {
          // Served, the branch may move between the index and a chunk: the
          // chunk then comes from another commit and may be shorter.
          const e = events[p - n * size];
          if (e && match(e)) found.push({ pos: p, event: e });
        }
      }
      pos = end;
    }
    return { found, scanned: pos };
  }

  // The `from` query parameter: where pages 2.. of a filtered list start (the
  // position after the previous page's last event), so the next page goes on
  // reading where this one stopped. Null unless it is well formed for `page`.
  function readStarts(text, page, total) {
    if (!text || page < 2) return null;
    const starts = text.split(",").map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
    const ok = starts.length === page - 1 && starts.every((p, i) => Number.isSafeInteger(p) && p <= total && (i === 0 || p >= starts[i - 1]));
    return ok ? starts : null;
  }

  async function audit(main, _parts, query) {
    const [registry, index] = await Promise.all([regent.load("registry"), regent.load("history/index")]);
    const current = Object.fromEntries([...FIELDS, "since", "until"].map((f) => [f, query.get(f) || ""]));
    const go = (change) => { location.hash = routeLink(["audit"], Object.assign({}, current, change)); };
    const select = (key, options) =>
      h("label", null, key + " ", h("select", { id: "filter-" + key, onchange: (ev) => go({ [key]: ev.target.value }) },
        h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o, selected: o === current[key] }, o))));
    const timeInput = (key) => {
      const input = h("input", { type: "text", id: "filter-" + key, value: current[key], placeholder: "2026-11-29 or RFC 3339", onchange: (ev) => go({ [key]: ev.target.value }) });
      return h("label", null, key + " ", input);
    };
    const since = parseTime(current.since);
    const until = parseTime(current.until);
    const badTime = [["since", since], ["until", until]].filter(([, v]) => Number.isNaN(v)).map(([k]) => k);
    append(main,
      h("h1", null, "Audit"),
      h("div", { class: "filters" }, select("model", index.models), select("stage", index.stages), select("event", index.events), select("actor", index.actors),
        select("via", [...new Set(["regent", "manual", ...index.vias])].sort()), timeInput("since"), timeInput("until")),
      badTime.length ? h("p", { class: "error" }, "Not a time: " + badTime.join(", ") + " (use 2026-11-29, 2026-11-29 10:00 or RFC 3339)") : null,
    );
    append(main, await stageAt(registry, index, query, current, go));
    append(main, await events(index, query, current, since, until));
    append(main, commandBox("The same from the command line", [
      ["this history", ["regent", "history", current.model || null, current.stage ? "--stage" : null, current.stage || null, current.since ? "--since" : null, current.since || null, current.until ? "--until" : null, current.until || null]],
      ["as CSV", ["regent", "history", "--format", "csv"]],
    ]));
  }

  // What version of a model was in a stage at a time, from that model's own
  // data file (which holds its events), not the whole history.
  async function stageAt(registry, index, query, current, go) {
    const section = h("section", { class: "at" }, h("h2", null, "What was in a stage at a time"));
    const models = registry.models.map((m) => m.name);
    const stages = regent.stageOrder(registry, index.stages);
    if (models.length === 0 || stages.length === 0) return append(section, h("p", { class: "empty" }, models.length ? "No stages." : "No models registered yet."));
    const pick = (value, options, fallback) => (options.includes(value) ? value : fallback);
    const atModel = pick(query.get("at_model"), models, pick(current.model, models, models[0]));
    const atStage = pick(query.get("at_stage"), stages, stages[0]);
    const atText = query.get("at") || "";
    const modelSelect = h("select", { id: "at-model" }, models.map((m) => h("option", { value: m, selected: m === atModel }, m)));
    const stageSelect = h("select", { id: "at-stage" }, stages.map((s) => h("option", { value: s, selected: s === atStage }, s)));
    const atInput = h("input", { type: "text", id: "at-time", value: atText, placeholder: "2026-11-29 10:00" });
    append(section, h("form", { onsubmit: (ev) => { ev.preventDefault(); go({ at_model: modelSelect.value, at_stage: stageSelect.value, at: atInput.value }); } },
      "What version of ", modelSelect, " was in ", stageSelect, " at ", atInput, " ", h("button", { type: "submit" }, "Look")));
    if (!atText) return section;
    const at = parseTime(atText);
    if (!Number.isFinite(at)) return append(section, h("p", { class: "error" }, "Not a time: " + atText));
    const data = await regent.load("model/" + atModel);
    const e = regent.holderAt(data.events, atStage, at);
    return append(section,
      e === null
        ? h("p", { class: "empty", id: "at-result" }, "No version of " + atModel + " was in " + atStage + " at " + time(new Date(at).toISOString()) + ".")
        : table(["Model", "Version", "Since", "Via"], [[
            link(routeLink(["model", atModel]), atModel), "v" + e.version, time(e.time), e.via === "manual" ? badge("manual", "manual") : e.event,
          ]], { id: "at-result" }),
      commandBox("The same from the command line", [["", ["regent", "show", atModel, "--at", atText]]]),
    );
  }

  // The events of the page, newest first. Unfiltered, page N is positions
  // (N-1)*100.. of the history: one chunk. Filtered, the page reads chunks
  // from where the previous page stopped (`from`), or from the newest.
  async function events(index, query, current, since, until) {
    const timed = Number.isFinite(since) || Number.isFinite(until);
    const filtered = timed || FIELDS.some((k) => current[k]);
    const match = (e) => {
      for (const key of FIELDS) if (current[key] && e[key] !== current[key]) return false;
      const t = Date.parse(e.time);
      if (Number.isFinite(since) && !(t >= since)) return false;
      if (Number.isFinite(until) && !(t <= until)) return false;
      return true;
    };
    // A chunk has no match when it holds no event of the model, stage or
    // kind asked for, or all its events are outside the time range.
    const skip = (chunk) => {
      if (!chunk) return false;
      for (const [key, values] of [["model", chunk.models], ["stage", chunk.stages], ["event", chunk.kinds]]) {
        if (current[key] && Array.isArray(values) && !values.includes(current[key])) return true;
      }
      if (!timed || chunk.newest == null || chunk.oldest == null) return false;
      return (Number.isFinite(since) && Date.parse(chunk.newest) < since) || (Number.isFinite(until) && Date.parse(chunk.oldest) > until);
    };
    const total = index.total;
    // No list has more pages than the whole history.
    const page = Math.min(Math.max(1, Math.floor(Number(query.get("page"))) || 1), Math.max(1, Math.ceil(total / PAGE)));
    const given = filtered ? readStarts(query.get("from"), page, total) : null;
    // Where to read from, how many matches come before that, how many to pass over.
    const [start, before, pass] = !filtered ? [(page - 1) * PAGE, (page - 1) * PAGE, 0] : given ? [given[page - 2], (page - 1) * PAGE, 0] : [0, 0, (page - 1) * PAGE];
    const { found, scanned } = await scan(index, start, pass + PAGE, match, skip);
    const rows = found.slice(pass, pass + PAGE);
    const complete = !filtered || scanned >= total;
    const count = filtered ? before + found.length : total;
    const pages = Math.max(1, Math.ceil(count / PAGE));
    // Where pages 2..page start, for the links to the next and previous pages.
    const starts = given || Array.from({ length: page - 1 }, (_, k) => (found[(k + 1) * PAGE - 1] || {}).pos + 1);
    const fromParam = (list) => (filtered && list.length && list.every(Number.isSafeInteger) ? list.join(",") : null);
    const pageLink = (n, from, text) => link(routeLink(["audit"], Object.assign({}, current, { at_model: query.get("at_model"), at_stage: query.get("at_stage"), at: query.get("at"), page: n, from })), text);
    const older = rows.length === PAGE && (complete ? page < pages : true);
    return [
      h("h2", null, "Events"),
      h("p", { class: "muted", id: "event-count" }, (complete ? count : "at least " + count) + " of " + total + " events, newest first"),
      complete ? null : h("p", { class: "muted", id: "event-scan" }, "scanned " + scanned + " of " + total + " events"),
      h(
        "table",
        { class: "events", id: "events" },
        h("thead", null, h("tr", null, ["Time", "Event", "Model", "Version", "Stage", "Alias", "Previous", "Actor", "Via", "PR", "Commit"].map((x) => h("th", null, x)))),
        h("tbody", null, rows.map(({ event: e }) =>
          h("tr", { class: "event" + (e.via === "manual" ? " manual" : ""), dataset: { event: e.event } }, [
            time(e.time), e.event,
            e.model ? link(routeLink(["model", e.model]), e.model) : e.experiment ? e.experiment + (e.run ? "/" + e.run : "") : "",
            e.version == null ? "" : "v" + e.version, e.stage || "", e.alias || "", e.previous == null ? "" : "v" + e.previous,
            e.actor || "", e.via === "manual" ? badge("manual", "manual") : e.via === "import" ? "import" : "regent", e.pr == null ? "" : "#" + e.pr,
            h("code", null, shortCommit(e.commit)),
          ].map((c) => h("td", null, c))))),
      ),
      h("div", { class: "pager" },
        page > 1 ? pageLink(page - 1, fromParam(starts.slice(0, -1)), "‹ newer") : null,
        h("span", { id: "events-page" }, "page " + page + (complete ? " of " + pages : "")),
        older ? pageLink(page + 1, fromParam([...starts, rows[rows.length - 1].pos + 1]), "older ›") : null),
    ];
  }

  regent.pages = Object.assign(regent.pages || {}, { audit });
})();
