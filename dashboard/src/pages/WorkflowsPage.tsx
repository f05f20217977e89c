// Page 1: the live list of workflows with its filters.
import { Alert, Badge, Button, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useMemo, useState } from "react";
import type { WorkflowQuery } from "../api/client";
import { stateName, TERMINAL } from "../lib/format";
import { useNow } from "../lib/useNow";
import { Filters, SINCE, type FilterValues } from "../workflows/Filters";
import { sorted } from "../workflows/rows";
import { useLiveWorkflows } from "../workflows/useLiveWorkflows";
import { WorkflowRow } from "../workflows/WorkflowRow";

const EMPTY: FilterValues = { states: [], name: "", namespace: "", since: "" };

export function WorkflowsPage({ namespaces }: { namespaces: string[] }) {
  const [filters, setFilters] = useState(EMPTY);
  // The cut-off is taken when the time filter is chosen, so the query stays the same
  // from one render to the next.
  const [sinceAt, setSinceAt] = useState(0);
  const [name] = useDebouncedValue(filters.name, 300);
  const change = (next: FilterValues) => {
    if (next.since !== filters.since) setSinceAt(next.since ? Date.now() - SINCE[next.since] : 0);
    setFilters(next);
  };
  const query: WorkflowQuery = useMemo(
    () => ({
      states: filters.states,
      namespace: filters.namespace || undefined,
      name: name || undefined,
      since: sinceAt ? new Date(sinceAt).toISOString() : undefined,
    }),
    [filters.states, filters.namespace, name, sinceAt],
  );
  const live = useLiveWorkflows(query);
  const rows = useMemo(
    () => sorted(live.rows, { states: filters.states, name, namespace: filters.namespace, since: sinceAt }),
    [live.rows, filters.states, name, filters.namespace, sinceAt],
  );
  const running = rows.some((r) => !TERMINAL.has(stateName(r.state)));
  const now = useNow(1000, running);
  const choices = useMemo(() => namespaceChoices(namespaces, live.rows), [namespaces, live.rows]);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Workflows</Title>
        <Group gap="xs">
          <Text size="sm" c="dimmed">{rows.length} shown</Text>
          <Badge color={live.stream === "live" ? "green" : "orange"} variant="dot" data-testid="stream-state">
            {live.stream}
          </Badge>
        </Group>
      </Group>
      <Filters value={filters} namespaces={choices} onChange={change} />
      {live.error && <Alert color="red" title="Could not list workflows">{live.error}</Alert>}
      <Table striped highlightOnHover verticalSpacing={4} data-testid="workflow-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Id</Table.Th>
            <Table.Th>Namespace</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Progress</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Duration</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <WorkflowRow key={row.id} row={row} now={TERMINAL.has(stateName(row.state)) ? 0 : now} />
          ))}
        </Table.Tbody>
      </Table>
      {!live.loading && !rows.length && <Text c="dimmed">No workflow matches.</Text>}
      {live.more && (
        <Button variant="light" onClick={live.loadMore} w={160}>
          Load older
        </Button>
      )}
    </Stack>
  );
}

/** The namespaces the token grants; with "*" (every one), those seen in the list. */
function namespaceChoices(granted: string[], rows: ReadonlyMap<string, { namespace: string }>): string[] {
  const names = new Set(granted.filter((n) => n !== "*"));
  if (granted.includes("*")) for (const row of rows.values()) if (row.namespace) names.add(row.namespace);
  return [...names].sort();
}
