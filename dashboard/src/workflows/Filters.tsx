import { Group, MultiSelect, Select, TextInput } from "@mantine/core";
import type { WorkflowState } from "../api/types";

export interface FilterValues {
  states: WorkflowState[];
  name: string;
  namespace: string;
  /** A key of SINCE; "" for any time. */
  since: string;
}

const STATES: WorkflowState[] = [
  "WORKFLOW_STATE_PENDING",
  "WORKFLOW_STATE_QUEUED",
  "WORKFLOW_STATE_RUNNING",
  "WORKFLOW_STATE_COMPLETED",
  "WORKFLOW_STATE_FAILED",
  "WORKFLOW_STATE_CANCELLED",
  "WORKFLOW_STATE_TIMED_OUT",
];

/** Time filters, as milliseconds back from now. */
export const SINCE: Record<string, number> = {
  "15m": 15 * 60_000,
  "1h": 3600_000,
  "24h": 24 * 3600_000,
  "7d": 7 * 24 * 3600_000,
};

interface Props {
  value: FilterValues;
  namespaces: string[];
  onChange: (value: FilterValues) => void;
}

export function Filters({ value, namespaces, onChange }: Props) {
  return (
    <Group align="end" gap="sm">
      <MultiSelect
        label="State"
        placeholder={value.states.length ? undefined : "any"}
        data={STATES.map((s) => ({ value: s, label: s.replace("WORKFLOW_STATE_", "") }))}
        value={value.states}
        onChange={(states) => onChange({ ...value, states: states as WorkflowState[] })}
        clearable
        w={280}
        data-testid="filter-state"
      />
      <TextInput
        label="Name starts with"
        value={value.name}
        onChange={(e) => onChange({ ...value, name: e.currentTarget.value })}
        w={200}
        data-testid="filter-name"
      />
      <Select
        label="Namespace"
        placeholder="all"
        data={namespaces}
        value={value.namespace || null}
        onChange={(namespace) => onChange({ ...value, namespace: namespace ?? "" })}
        clearable
        w={170}
        data-testid="filter-namespace"
      />
      <Select
        label="Created"
        placeholder="any time"
        data={[
          { value: "15m", label: "last 15 minutes" },
          { value: "1h", label: "last hour" },
          { value: "24h", label: "last 24 hours" },
          { value: "7d", label: "last 7 days" },
        ]}
        value={value.since || null}
        onChange={(since) => onChange({ ...value, since: since ?? "" })}
        clearable
        w={170}
        data-testid="filter-since"
      />
    </Group>
  );
}
