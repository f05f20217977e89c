// The DAG's positions, from dagre (layered layout, left to right). Computed from the
// shape alone (step ids and dependencies), so state changes never lay it out again.
import { Graph, layout } from "@dagrejs/dagre";

export const NODE_W = 200;
export const NODE_H = 86;

export interface Placed {
  id: string;
  x: number;
  y: number;
}

export interface Layout {
  width: number;
  height: number;
  nodes: Placed[];
  /** Each edge as its points, from the dependency to the dependent step. */
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
}

export function layOut(steps: { id: string; dependencies: string[] }[]): Layout {
  const g = new Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(steps.map((s) => s.id));
  for (const s of steps) g.setNode(s.id, { width: NODE_W, height: NODE_H });
  for (const s of steps) for (const dep of s.dependencies) if (ids.has(dep)) g.setEdge(dep, s.id);
  layout(g);
  const nodes = steps.map((s) => {
    const n = g.node(s.id);
    // dagre gives centres; the nodes are placed by their top-left corner.
    return { id: s.id, x: n.x - NODE_W / 2, y: n.y - NODE_H / 2 };
  });
  const edges = g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e).points ?? [] }));
  const label = g.graph();
  return { width: label.width ?? 0, height: label.height ?? 0, nodes, edges };
}
