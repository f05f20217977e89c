// Page 3: the agents, refreshed every few seconds.
import { Alert, Badge, Group, Progress, Stack, Table, Text, Title } from "@mantine/core";
import { listAgents } from "../api/client";
import type { AgentInfo } from "../api/types";
import { formatSeconds, seconds } from "../lib/format";
import { usePolling } from "../lib/usePolling";

export function AgentsPage() {
  const { data, error } = usePolling(listAgents, 3000);
  const agents = data?.agents ?? [];
  return (
    <Stack>
      <Title order={3}>Agents</Title>
      {error && <Alert color="red" title="Could not list agents">{error}</Alert>}
      <Table striped data-testid="agent-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Agent</Table.Th>
            <Table.Th>Namespace</Table.Th>
            <Table.Th>Capabilities</Table.Th>
            <Table.Th>Slots in use</Table.Th>
            <Table.Th>EWMA duration</Table.Th>
            <Table.Th>Failure rate</Table.Th>
            <Table.Th>Connected since</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {agents.map((a) => <AgentRow key={a.agentId} agent={a} />)}
        </Table.Tbody>
      </Table>
      {data && !agents.length && <Text c="dimmed">No agent.</Text>}
      {Boolean(data?.omittedAgents) && <Text size="sm" c="dimmed">{data?.omittedAgents} more left out.</Text>}
    </Stack>
  );
}

function AgentRow({ agent: a }: { agent: AgentInfo }) {
  const max = a.maxConcurrentTasks ?? 0;
  const load = a.currentLoad ?? 0;
  return (
    <Table.Tr data-testid="agent-row" data-agent-id={a.agentId}>
      <Table.Td>
        <Text fw={500}>{a.agentId}</Text>
        <Text size="xs" c="dimmed">{a.agentType}</Text>
      </Table.Td>
      <Table.Td>{a.namespace || "default"}</Table.Td>
      <Table.Td>
        <Group gap={4}>
          {(a.capabilities ?? []).map((c) => <Badge key={c} variant="light" size="sm">{c}</Badge>)}
        </Group>
      </Table.Td>
      <Table.Td miw={130}>
        <Group gap={6} wrap="nowrap">
          <Progress value={max ? (100 * load) / max : 0} w={60} size="sm" />
          <Text size="sm">{load} / {max}</Text>
        </Group>
      </Table.Td>
      <Table.Td>{seconds(a.meanDuration) ? formatSeconds(seconds(a.meanDuration)) : "—"}</Table.Td>
      <Table.Td>{failureRate(a)}</Table.Td>
      <Table.Td>
        {a.connected ? (
          a.connectedAt ? new Date(a.connectedAt).toLocaleString() : "yes"
        ) : (
          <Badge color="gray" variant="light">disconnected</Badge>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

/** The server's EWMA of recent failures, with the session's attempts it rests on. */
function failureRate(a: AgentInfo): string {
  const done = Number(a.failedSteps ?? 0) + Number(a.completedSteps ?? 0);
  if (!done) return "—";
  return `${(100 * (a.failureRate ?? 0)).toFixed(1)} % (of ${done} attempts)`;
}
