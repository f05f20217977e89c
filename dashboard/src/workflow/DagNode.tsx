import { Badge, Group, Paper, Text } from "@mantine/core";
import { memo } from "react";
import { formatSeconds, stateColor, stateName } from "../lib/format";
import { NODE_H, NODE_W } from "./layout";
import type { StepModel } from "./model";

interface Props {
  step: StepModel;
  x: number;
  y: number;
  selected: boolean;
  onOpen: (stepId: string) => void;
}

// Memoised on the step object: an event replaces only the steps it touches.
export const DagNode = memo(function DagNode({ step, x, y, selected, onOpen }: Props) {
  const state = stateName(step.state);
  const color = stateColor(state);
  return (
    <Paper
      data-testid="dag-node"
      data-step-id={step.stepId}
      data-state={state}
      withBorder
      shadow={selected ? "md" : "xs"}
      p={6}
      role="button"
      tabIndex={0}
      aria-label={`step ${step.stepId}, ${state}`}
      onClick={() => onOpen(step.stepId)}
      onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && onOpen(step.stepId)}
      style={{
        position: "absolute",
        left: x,
        top: y,
        width: NODE_W,
        height: NODE_H,
        cursor: "pointer",
        borderLeft: `5px solid var(--mantine-color-${color}-6)`,
        outline: selected ? `2px solid var(--mantine-color-${color}-4)` : undefined,
      }}
    >
      <Group justify="space-between" wrap="nowrap" gap={4}>
        <Text fw={600} size="sm" truncate title={step.name}>
          {step.stepId}
        </Text>
        <Badge size="xs" color={color} variant="light">
          {state}
        </Badge>
      </Group>
      <Text size="xs" c="dimmed" truncate>
        {step.agentId ? `agent ${step.agentId}` : step.capability || "\u00a0"}
      </Text>
      <Group justify="space-between" gap={4}>
        <Text size="xs">attempt {step.attempt || "—"}</Text>
        <Text size="xs">{step.executionSeconds ? formatSeconds(step.executionSeconds) : ""}</Text>
      </Group>
    </Paper>
  );
});
