import { Badge } from "@mantine/core";
import type { StepState, WorkflowState } from "../api/types";
import { stateColor, stateName } from "../lib/format";

/** A state as a coloured badge; data-state carries the short name for tests. */
export function StateBadge({ state, testId }: { state?: WorkflowState | StepState; testId?: string }) {
  const name = stateName(state);
  return (
    <Badge color={stateColor(name)} variant="light" data-testid={testId} data-state={name}>
      {name}
    </Badge>
  );
}
