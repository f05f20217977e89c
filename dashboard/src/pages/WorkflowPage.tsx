// Page 2: one workflow, live: its DAG, the attempts' timeline, a step drawer, cancel.
import { Alert, Anchor, Badge, Card, Group, Loader, Stack, Text, Title } from "@mantine/core";
import { useCallback, useState } from "react";
import { StateBadge } from "../components/StateBadge";
import { formatSeconds, stateName, TERMINAL } from "../lib/format";
import { follow } from "../lib/router";
import { useNow } from "../lib/useNow";
import { CancelButton } from "../workflow/CancelButton";
import { Dag } from "../workflow/Dag";
import { StepDrawer } from "../workflow/StepDrawer";
import { Timeline } from "../workflow/Timeline";
import { useWorkflow } from "../workflow/useWorkflow";

export function WorkflowPage({ id }: { id: string }) {
  const { model, error, stream } = useWorkflow(id);
  const [open, setOpen] = useState<string>();
  const onOpen = useCallback((stepId: string) => setOpen(stepId), []);
  const ended = model ? TERMINAL.has(stateName(model.state)) : false;
  const now = useNow(1000, Boolean(model) && !ended);

  if (error) return <Alert color="red" title="Could not load the workflow">{error}</Alert>;
  if (!model) return <Loader />;
  const start = model.startedAt || model.createdAt;
  // `now` ticks once a second; an event may be newer than the last tick.
  const duration = start ? Math.max(0, (model.finishedAt || Math.max(now, Date.now())) - start) / 1000 : 0;
  return (
    <Stack>
      <Anchor href="/workflows" onClick={follow} size="sm">← Workflows</Anchor>
      <Group justify="space-between" align="start">
        <Stack gap={2}>
          <Group gap="xs">
            <Title order={3}>{model.name || id}</Title>
            <StateBadge state={model.state} testId="workflow-state" />
            <Badge color={stream === "live" ? "green" : "orange"} variant="dot">{stream}</Badge>
          </Group>
          <Text size="sm" c="dimmed" ff="monospace">{id}</Text>
          <Text size="sm">
            namespace <b>{model.namespace}</b> · {model.order.length} steps
            {start ? ` · ${formatSeconds(duration)}` : ""}
            {model.errorMessage ? ` · ${model.errorMessage}` : ""}
          </Text>
        </Stack>
        <CancelButton id={id} ended={ended} />
      </Group>
      <Card withBorder>
        <Title order={5} mb="xs">Steps</Title>
        <Dag model={model} selected={open} onOpen={onOpen} />
      </Card>
      <Card withBorder>
        <Title order={5} mb="xs">Timeline</Title>
        <Timeline model={model} now={now} />
      </Card>
      <StepDrawer model={model} stepId={open} now={now} onClose={() => setOpen(undefined)} />
    </Stack>
  );
}
