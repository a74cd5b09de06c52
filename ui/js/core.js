// The page's plumbing: loading data files, building DOM safely, formatting,
// the command boxes. Every text from the registry goes into the page through
// textContent (the `h` helper): never innerHTML.
"use strict";

(function () {
  const store = new Map();
  const waiting = new Map();

  const regent = {
    // Called by each data file: `regent.data("runs/exp/0", {...})`.
    data(key, value) {
      store.set(key, value);
      const callbacks = waiting.get(key) || [];
      waiting.delete(key);
      callbacks.forEach((c) => c.resolve(value));
    },

    // The data under `key`, loading `data/<key>.js` once. Works from disk
    // (file://) as well as served: a script element, not fetch().
    load(key) {
      if (store.has(key)) return Promise.resolve(store.get(key));
      return new Promise((resolve, reject) => {
        if (waiting.has(key)) {
          waiting.get(key).push({ resolve, reject });
          return;
        }
        waiting.set(key, [{ resolve, reject }]);
        const script = document.createElement("script");
        script.src = "data/" + key.split("/").map(encodeURIComponent).join("/") + ".js";
        script.onerror = () => {
          const callbacks = waiting.get(key) || [];
          waiting.delete(key);
          callbacks.forEach((c) => c.reject(new Error("could not load " + script.src)));
          script.remove();
        };
        script.onload = () => script.remove();
        document.head.appendChild(script);
      });
    },

    // Forget loaded data (a reload of the server's data on navigation).
    forget() {
      store.clear();
    },

    charts: [],
  };

  // Builds an element: attributes set as properties or attributes (never
  // HTML), children appended as nodes or text.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.className = value;
      else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else if (name === "dataset") Object.assign(el.dataset, value);
      else if (name in el && typeof value !== "string") el[name] = value;
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, ...children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // A number as `regent` prints it: integers whole, else up to 6 decimals.
  function number(value) {
    if (typeof value !== "number") return value == null ? "" : String(value);
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
    if (Math.abs(value) !== 0 && (Math.abs(value) < 1e-4 || Math.abs(value) >= 1e15)) {
      return value.toExponential(4);
    }
    return value.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
  }

  // `2026-11-26T18:10:05Z` -> `2026-11-26 18:10:05` (UTC, as the files say).
  function time(text) {
    if (!text) return "";
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) return text;
    return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function duration(start, end) {
    const a = Date.parse(start);
    const b = Date.parse(end);
    if (Number.isNaN(a) || Number.isNaN(b) || b < a) return "";
    let s = Math.round((b - a) / 1000);
    const parts = [];
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (s >= size) {
        parts.push(Math.floor(s / size) + unit);
        s %= size;
      }
    }
    if (parts.length < 2) parts.push(s + "s");
    return parts.slice(0, 2).join(" ");
  }

  // A shell word: left bare when it is plainly safe, else single-quoted.
  function shellWord(word) {
    const text = String(word);
    if (/^[A-Za-z0-9._\/:=@%+,-]+$/.test(text)) return text;
    return "'" + text.replace(/'/g, "'\\''") + "'";
  }

  function command(words) {
    return words.filter((w) => w !== null && w !== undefined).map(shellWord).join(" ");
  }

  // "To change this": the commands that would do it (the UI never writes).
  function commandBox(title, lines) {
    return h(
      "section",
      { class: "commands" },
      h("h3", null, title || "To change this"),
      h("p", { class: "muted" }, "The UI only reads. Run these in the repository (changes are commits, or pull requests with --pr):"),
      lines.map(([what, words]) =>
        h("div", { class: "command" }, h("span", { class: "what" }, what), h("code", null, command(words))),
      ),
    );
  }

  function badge(text, kind) {
    return h("span", { class: "badge " + (kind || "") }, text);
  }

  function table(headers, rows, attrs) {
    return h(
      "table",
      attrs || null,
      h("thead", null, h("tr", null, headers.map((x) => h("th", null, x)))),
      h("tbody", null, rows.map((cells) => h("tr", null, cells.map((c) => h("td", null, c))))),
    );
  }

  // A key/value list (a <dl>), skipping empty values.
  function facts(pairs) {
    return h(
      "dl",
      { class: "facts" },
      pairs
        .filter(([, v]) => v !== null && v !== undefined && v !== "")
        .map(([k, v]) => [h("dt", null, k), h("dd", null, v)]),
    );
  }

  function link(href, text) {
    return h("a", { href }, text);
  }

  function routeLink(parts, query) {
    let href = "#/" + parts.map(encodeURIComponent).join("/");
    if (query) {
      const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== ""));
      const text = q.toString();
      if (text) href += "?" + text;
    }
    return href;
  }

  function shortCommit(commit) {
    return commit ? String(commit).slice(0, 12) : "";
  }

  Object.assign(regent, {
    h, append, number, time, duration, command, commandBox, badge, table, facts, link, routeLink, shortCommit,
  });
  window.regent = regent;
})();
