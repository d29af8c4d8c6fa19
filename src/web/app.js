// The live web view of `dora coordinator --web ADDR`: the dataflows (/), and one page per dataflow
// (/dataflow/<uuid>) with its graph by machine, live edge rates, each node's status, restarts and
// resources, the latest value of the output the user clicks (text or JSON, numbers plotted over
// time) and the tail of the logs. Everything arrives from the coordinator as JSON and
// server-sent events; every value is shown with textContent, never parsed as markup.
"use strict";

(() => {
  const app = document.getElementById("app");
  const title = document.getElementById("title");

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  function bytes(n) {
    if (n === undefined || n === null) return "";
    const u = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < 3) { n /= 1024; i++; }
    return `${i ? n.toFixed(1) : n} ${u[i]}`;
  }

  async function list() {
    title.textContent = "dataflows";
    const r = await fetch("/api/dataflows");
    const data = await r.json();
    const table = h("table", { id: "dataflows" },
      h("tr", {}, h("th", {}, "name"), h("th", {}, "uuid"), h("th", {}, "status"), h("th", {}, "machines")));
    for (const d of data.dataflows) {
      const link = h("a", { href: "/dataflow/" + encodeURIComponent(d.id) }, d.name || "(unnamed)");
      table.append(h("tr", {}, h("td", {}, link), h("td", {}, d.id), h("td", {}, d.status),
        h("td", {}, d.machines.join(", "))));
    }
    app.replaceChildren(data.dataflows.length ? table : h("p", {}, "No dataflow has run yet."));
  }

  // ---- one dataflow ----------------------------------------------------------------------------

  function plot(svg, series) {
    // series: {name: [[t, v], ...]}
    svg.replaceChildren();
    const W = 560, H = 180, P = 30;
    const all = Object.values(series).flat();
    if (!all.length) return;
    const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
    let v0 = Math.min(...all.map((p) => p[1])), v1 = Math.max(...all.map((p) => p[1]));
    if (v0 === v1) { v0 -= 1; v1 += 1; }
    const X = (t) => P + (t1 === t0 ? 0 : (t - t0) / (t1 - t0)) * (W - 2 * P);
    const Y = (v) => H - P - (v - v0) / (v1 - v0) * (H - 2 * P);
    const NS = "http://www.w3.org/2000/svg";
    const mk = (name, attrs, text) => {
      const e = document.createElementNS(NS, name);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text;
      svg.appendChild(e);
      return e;
    };
    mk("text", { x: 2, y: P - 8, class: "axis" }, v1.toPrecision(4));
    mk("text", { x: 2, y: H - P + 14, class: "axis" }, v0.toPrecision(4));
    let i = 0;
    for (const [name, points] of Object.entries(series)) {
      const d = points.map(([t, v], k) => `${k ? "L" : "M"} ${X(t).toFixed(1)} ${Y(v).toFixed(1)}`).join(" ");
      mk("path", { d, class: "series s" + (i % 4), "data-series": name });
      mk("text", { x: W - P, y: P + 14 * i, class: "legend s" + (i % 4), "text-anchor": "end" }, name);
      i++;
    }
  }

  // The numbers a value offers for plotting: a number, a short numeric array (each element), or
  // the numeric fields of a JSON object.
  function numbers(v) {
    const out = {};
    if (typeof v === "number") out.value = v;
    else if (Array.isArray(v) && v.length <= 16 && v.every((x) => typeof x === "number")) {
      v.forEach((x, i) => { out[v.length === 1 ? "value" : `[${i}]`] = x; });
    } else if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) if (typeof x === "number") out[k] = x;
    }
    return out;
  }

  async function dataflow(id) {
    const r = await fetch("/api/dataflow/" + encodeURIComponent(id));
    if (!r.ok) {
      app.replaceChildren(h("p", { class: "error" }, await r.text()));
      return;
    }
    const d = await r.json();
    title.textContent = `${d.name || "(unnamed)"} — ${d.id}`;
    const status = h("span", { id: "status" }, d.status);
    const graph = h("div", { id: "graph" });
    const nodes = h("table", { id: "nodes" });
    const valueTitle = h("h3", { id: "value-title" }, "Click an output or input in the graph to see its latest value");
    const value = h("pre", { id: "value" });
    const chart = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    chart.setAttribute("id", "plot");
    chart.setAttribute("viewBox", "0 0 560 180");
    const logs = h("pre", { id: "logs" });
    app.replaceChildren(h("p", {}, "status: ", status), graph,
      h("div", { class: "panels" },
        h("section", {}, h("h3", {}, "nodes"), nodes),
        h("section", {}, valueTitle, value, chart)),
      h("h3", {}, "logs"), logs);

    let watch = null;
    DoraGraph.render(graph, d.graph, {
      onPort: (output, clicked) => {
        if (watch) watch.close();
        valueTitle.textContent = output === clicked ? output : `${clicked} ← ${output}`;
        value.textContent = "waiting for a message…";
        const series = {};
        chart.replaceChildren();
        watch = new EventSource(`/api/dataflow/${encodeURIComponent(id)}/watch?output=${encodeURIComponent(output)}`);
        watch.addEventListener("value", (e) => {
          const m = JSON.parse(e.data);
          const shown = m.text !== undefined ? m.text : m.value;
          value.textContent = `${m.type}${m.length !== undefined ? `[${m.length}]` : ""} at ${new Date(m.timestamp_ns / 1e6).toISOString()}\n` +
            (typeof shown === "string" ? shown : JSON.stringify(shown, null, 2));
          const nums = numbers(m.json !== undefined ? m.json : (m.value && m.value.length === 1 ? m.value[0] : m.value));
          for (const [k, x] of Object.entries(nums)) {
            (series[k] = series[k] || []).push([m.timestamp_ns / 1e9, x]);
            if (series[k].length > 300) series[k].shift();
          }
          plot(chart, series);
        });
        watch.addEventListener("problem", (e) => { value.textContent = JSON.parse(e.data).error; });
      },
    });

    const statusCell = {};
    function renderNodes(list) {
      nodes.replaceChildren(h("tr", {}, ...["node", "machine", "status", "pid", "restarts", "cpu", "memory", "dropped"]
        .map((c) => h("th", {}, c))));
      for (const n of list) {
        nodes.append(h("tr", { "data-node": n.id }, h("td", {}, n.id), h("td", {}, n.machine || "(default)"),
          h("td", { class: "status" }, n.status), h("td", {}, n.pid || ""), h("td", {}, n.restarts ?? ""),
          h("td", {}, n.cpu === undefined || n.cpu === null ? "" : n.cpu.toFixed(1) + " %"),
          h("td", {}, bytes(n.rss)), h("td", {}, n.dropped ?? "")));
        statusCell[n.id] = n.status;
      }
    }
    renderNodes(d.nodes);
    DoraGraph.setStatuses(graph, statusCell);

    const events = new EventSource(`/api/dataflow/${encodeURIComponent(id)}/events`);
    events.addEventListener("state", (e) => {
      const s = JSON.parse(e.data);
      status.textContent = s.status;
      renderNodes(s.nodes);
      DoraGraph.setStatuses(graph, statusCell);
      DoraGraph.setRates(graph, s.rates || {});
    });
    events.addEventListener("log", (e) => {
      const l = JSON.parse(e.data);
      logs.append(`${l.node}: ${l.line}\n`);
      while (logs.childNodes.length > 300) logs.removeChild(logs.firstChild);
      logs.scrollTop = logs.scrollHeight;
    });
  }

  const m = location.pathname.match(/^\/dataflow\/([^/]+)$/);
  (m ? dataflow(decodeURIComponent(m[1])) : list()).catch((e) => {
    app.replaceChildren(h("p", { class: "error" }, String(e)));
  });
})();
