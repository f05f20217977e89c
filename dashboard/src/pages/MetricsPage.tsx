// Page 4: engine metrics, and the server's sampled history as charts (every 3 s).
import { Alert, Card, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { getMetrics } from "../api/client";
import type { EngineMetrics } from "../api/types";
import { formatSeconds } from "../lib/format";
import { usePolling } from "../lib/usePolling";
import { LineChart } from "../metrics/LineChart";

const CHARTS: { series: string; title: string; unit: string; color: string }[] = [
  { series: "steps_per_second", title: "Throughput", unit: "steps/s", color: "blue" },
  { series: "step_latency_ms", title: "Step latency", unit: "ms", color: "orange" },
  { series: "active_workflows", title: "Active workflows", unit: "workflows", color: "grape" },
  { series: "workflow_count", title: "Workflows", unit: "workflows", color: "teal" },
];

export function MetricsPage() {
  const { data, error } = usePolling(getMetrics, 3000);
  const m = data?.metrics;
  return (
    <Stack>
      <Title order={3}>Metrics</Title>
      {error && <Alert color="red" title="Could not read metrics">{error}</Alert>}
      {m && <Counters m={m} />}
      {m && (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          {CHARTS.map((c) => {
            const values = m.performanceMetrics?.[c.series]?.values ?? [];
            return (
              <Card withBorder key={c.series} data-testid={`chart-${c.series}`}>
                <Text fw={600} size="sm" mb={4}>{c.title}</Text>
                <LineChart values={values} interval={m.sampleIntervalSeconds ?? 1} unit={c.unit} color={c.color} />
              </Card>
            );
          })}
        </SimpleGrid>
      )}
      {m && !m.performanceMetrics && (
        <Text size="sm" c="dimmed">The sampled history is given only to callers who may see every namespace.</Text>
      )}
    </Stack>
  );
}

function Counters({ m }: { m: EngineMetrics }) {
  const items: [string, string | number][] = [
    ["Active", m.activeWorkflows ?? 0],
    ["Queued", m.queuedWorkflows ?? 0],
    ["Completed", m.completedWorkflows ?? "0"],
    ["Failed", m.failedWorkflows ?? "0"],
    ["Cancelled", m.cancelledWorkflows ?? "0"],
    ["Steps done", m.completedSteps ?? "0"],
    ["Agents", m.connectedAgents ?? 0],
    ["Uptime", formatSeconds(m.uptimeSeconds ?? 0)],
  ];
  return (
    <SimpleGrid cols={{ base: 2, sm: 4, lg: 8 }}>
      {items.map(([label, value]) => (
        <Card withBorder key={label} p="xs">
          <Text size="xs" c="dimmed">{label}</Text>
          <Text fw={700} size="lg">{value}</Text>
        </Card>
      ))}
    </SimpleGrid>
  );
}
