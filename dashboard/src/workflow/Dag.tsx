// The workflow's DAG: SVG edges under absolutely placed HTML nodes, laid out by dagre.
import { ScrollArea, Text } from "@mantine/core";
import { useMemo } from "react";
import { DagNode } from "./DagNode";
import { layOut } from "./layout";
import { shapeKey, type WorkflowModel } from "./model";

/** Past this many steps the layout and the DOM cost too much; the timeline still shows them. */
export const MAX_DAG_STEPS = 400;

interface Props {
  model: WorkflowModel;
  selected?: string;
  onOpen: (stepId: string) => void;
}

export function Dag({ model, selected, onOpen }: Props) {
  const key = shapeKey(model);
  const graph = useMemo(
    () =>
      model.order.length > MAX_DAG_STEPS
        ? undefined
        : layOut(model.order.map((id) => ({ id, dependencies: model.steps.get(id)?.dependencies ?? [] }))),
    // The shape key stands for order and dependencies: states do not move nodes.
    [key],
  );
  if (!graph) {
    return <Text c="dimmed">{model.order.length} steps: too many to draw; see the timeline.</Text>;
  }
  return (
    <ScrollArea type="auto" data-testid="dag">
      <div style={{ position: "relative", width: graph.width, height: graph.height }}>
        <svg width={graph.width} height={graph.height} style={{ position: "absolute", inset: 0 }} aria-hidden>
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
              <path d="M0,0 L10,5 L0,10 z" fill="var(--mantine-color-gray-5)" />
            </marker>
          </defs>
          {graph.edges.map((e) => (
            <polyline
              key={`${e.from}>${e.to}`}
              points={e.points.map((p) => `${p.x},${p.y}`).join(" ")}
              fill="none"
              stroke="var(--mantine-color-gray-5)"
              strokeWidth={1.5}
              markerEnd="url(#arrow)"
            />
          ))}
        </svg>
        {graph.nodes.map((n) => {
          const step = model.steps.get(n.id);
          return step ? (
            <DagNode key={n.id} step={step} x={n.x} y={n.y} selected={selected === n.id} onOpen={onOpen} />
          ) : null;
        })}
      </div>
    </ScrollArea>
  );
}
