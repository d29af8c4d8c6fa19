// The dataflow graph as SVG, drawn in the page itself (no library, no network): the live web view
// (`dora coordinator --web`) and the pages `dora graph` writes both use it.
//
// graph = {machines: [{id, nodes: [{id, inputs: [{id, source}], outputs: [id]}]}],
//          edges: [{from: "node/output", to: "node/input"}]}
// An input's source is "node/output" or "dora/timer/...". Machines become columns (ordered so
// that data flows left to right; machines of the same rank stacked), their nodes boxes with outputs on the right and inputs on the
// left; edges are curves from output to input, each with a label the live view fills with the
// message rate. Every text is set with textContent: ids are never parsed as markup.
"use strict";

const DoraGraph = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const NODE_W = 210, PORT_H = 18, NODE_HEAD = 26, NODE_GAP = 16, COL_GAP = 150, PAD = 24,
    MACHINE_GAP = 24;

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, value, cls, anchor) {
    const t = el("text", { x, y, class: cls || "", "text-anchor": anchor || "start" }, parent);
    t.textContent = value;
    return t;
  }

  // Longest path from a source node: a node's rank.
  function ranks(graph) {
    const nodes = new Map();
    for (const m of graph.machines) for (const n of m.nodes) nodes.set(n.id, n);
    const rank = new Map();
    const visiting = new Set();
    function of(id) {
      if (rank.has(id)) return rank.get(id);
      if (visiting.has(id)) return 0;  // a cycle: stop here
      visiting.add(id);
      let r = 0;
      const n = nodes.get(id);
      for (const input of n ? n.inputs : []) {
        const src = input.source.split("/")[0];
        if (input.source.startsWith("dora/") || !nodes.has(src)) continue;
        r = Math.max(r, of(src) + 1);
      }
      visiting.delete(id);
      rank.set(id, r);
      return r;
    }
    for (const id of nodes.keys()) of(id);
    return rank;
  }

  function render(container, graph, options) {
    options = options || {};
    container.textContent = "";
    const rank = ranks(graph);
    const machines = graph.machines.map((m) => ({
      ...m,
      nodes: [...m.nodes].sort((a, b) => rank.get(a.id) - rank.get(b.id) || a.id.localeCompare(b.id)),
      order: Math.min(...m.nodes.map((n) => rank.get(n.id)), 1e9),
    }));
    machines.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));

    // Columns by rank: the machines whose earliest node has the same rank share a column,
    // stacked; data flows from left to right.
    const columns = [];
    for (const m of machines) {
      const last = columns[columns.length - 1];
      if (last && last.order === m.order) last.machines.push(m);
      else columns.push({ order: m.order, machines: [m] });
    }
    const ports = new Map();  // "in:node/input" or "out:node/output" -> {x, y}
    const boxes = [];
    let x = PAD, height = 0;
    for (const column of columns) {
      let y = PAD;
      for (const m of column.machines) {
        const top = y;
        y += 28;
        const nodes = [];
        for (const n of m.nodes) {
          const rows = Math.max(n.inputs.length, n.outputs.length, 1);
          const h = NODE_HEAD + rows * PORT_H + 8;
          nodes.push({ n, x: x + 14, y, h });
          n.inputs.forEach((p, i) => ports.set("in:" + n.id + "/" + p.id,
            { x: x + 14, y: y + NODE_HEAD + i * PORT_H + PORT_H / 2 }));
          n.outputs.forEach((o, i) => ports.set("out:" + n.id + "/" + o,
            { x: x + 14 + NODE_W, y: y + NODE_HEAD + i * PORT_H + PORT_H / 2 }));
          y += h + NODE_GAP;
        }
        boxes.push({ m, x, y: top, w: NODE_W + 28, h: y - top - NODE_GAP + 12, nodes });
        y += MACHINE_GAP - NODE_GAP + 12;
      }
      height = Math.max(height, y);
      x += NODE_W + 28 + COL_GAP;
    }
    const width = x - COL_GAP + PAD;
    const svg = el("svg", { width, height: height + PAD, viewBox: `0 0 ${width} ${height + PAD}`,
      class: "dora-graph" }, container);
    const edgeLayer = el("g", { class: "edges" });

    for (const b of boxes) {
      const g = el("g", { class: "machine", "data-machine": b.m.id }, svg);
      el("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: 10, class: "machine-box" }, g);
      text(g, b.x + 10, b.y + 18, b.m.id === "" ? "(default machine)" : b.m.id, "machine-label");
      for (const { n, x: nx, y: ny, h } of b.nodes) {
        const ng = el("g", { class: "node", "data-node": n.id }, g);
        el("rect", { x: nx, y: ny, width: NODE_W, height: h, rx: 6, class: "node-box" }, ng);
        text(ng, nx + 8, ny + 17, n.id, "node-label");
        text(ng, nx + NODE_W - 8, ny + 17, "", "node-status", "end").setAttribute("data-status", n.id);
        n.inputs.forEach((p, i) => {
          const t = text(ng, nx + 6, ny + NODE_HEAD + i * PORT_H + 13,
            p.source.startsWith("dora/timer/") ? `${p.id} (timer ${p.source.slice(11)})` : p.id, "port input");
          t.setAttribute("data-port", n.id + "/" + p.id);
          t.setAttribute("data-source", p.source);
          if (options.onPort && !p.source.startsWith("dora/")) {
            t.addEventListener("click", () => options.onPort(p.source, n.id + "/" + p.id));
          }
        });
        n.outputs.forEach((o, i) => {
          const t = text(ng, nx + NODE_W - 6, ny + NODE_HEAD + i * PORT_H + 13, o, "port output", "end");
          t.setAttribute("data-port", n.id + "/" + o);
          if (options.onPort) t.addEventListener("click", () => options.onPort(n.id + "/" + o, n.id + "/" + o));
        });
      }
    }
    svg.appendChild(edgeLayer);
    for (const e of graph.edges) {
      const a = ports.get("out:" + e.from), b = ports.get("in:" + e.to);
      if (!a || !b) continue;
      const dx = Math.max(40, Math.abs(b.x - a.x) / 2);
      const back = b.x <= a.x;
      const d = back
        ? `M ${a.x} ${a.y} C ${a.x + 60} ${a.y}, ${b.x - 60} ${b.y}, ${b.x} ${b.y}`
        : `M ${a.x} ${a.y} C ${a.x + dx} ${a.y}, ${b.x - dx} ${b.y}, ${b.x} ${b.y}`;
      const g = el("g", { class: "edge", "data-edge": e.from + "->" + e.to }, edgeLayer);
      el("path", { d, class: "edge-line" }, g);
      const label = text(g, (a.x + b.x) / 2, (a.y + b.y) / 2 - 4, "", "edge-rate", "middle");
      label.setAttribute("data-rate", e.from + "->" + e.to);
    }
    return svg;
  }

  // rates: {"node/output->node/input": messages per second}
  function setRates(container, rates) {
    for (const label of container.querySelectorAll("[data-rate]")) {
      const r = rates[label.getAttribute("data-rate")];
      label.textContent = r === undefined || r === null ? "" : `${r < 10 ? r.toFixed(1) : Math.round(r)} msg/s`;
    }
  }
  // statuses: {node: "running" | "exited (0)" | ...}
  function setStatuses(container, statuses) {
    for (const label of container.querySelectorAll("[data-status]")) {
      const node = label.getAttribute("data-status");
      const s = statuses[node] || "";
      label.textContent = s;
      const box = label.parentNode.querySelector(".node-box");
      box.setAttribute("class", "node-box " + (s.startsWith("running") ? "running"
        : s.startsWith("exited (0)") || s === "finished" ? "done" : s ? "problem" : ""));
    }
  }
  return { render, setRates, setStatuses };
})();
