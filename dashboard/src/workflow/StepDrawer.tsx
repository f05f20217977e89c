// The step drawer: what went in (the run's context and the outputs of its
// dependencies, which is what the agent receives), what came out, the error, the
// streamed lines and every attempt.
import { Badge, Code, Drawer, Group, Stack, Table, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";
import { StateBadge } from "../components/StateBadge";
import { formatPayload, formatSeconds } from "../lib/format";
import type { StepModel, WorkflowModel } from "./model";

interface Props {
  model: WorkflowModel;
  stepId?: string;
  now: number;
  onClose: () => void;
}

export function StepDrawer({ model, stepId, now, onClose }: Props) {
  const step = stepId ? model.steps.get(stepId) : undefined;
  return (
    <Drawer opened={Boolean(step)} onClose={onClose} position="right" size="lg" title={step && <Header step={step} />}>
      {step && (
        <Stack data-testid="step-drawer" data-step-id={step.stepId} gap="md">
          <Text size="sm">
            {step.name !== step.stepId && <>{step.name} · </>}capability <b>{step.capability || "—"}</b>
            {step.agentId && <> · agent <b>{step.agentId}</b></>}
          </Text>
          <Inputs model={model} step={step} />
          <Section title="Output">
            {step.outputOmitted && !step.output ? (
              <Text size="sm" c="dimmed">Left out of the status (too large for one response).</Text>
            ) : (
              <Code block data-testid="step-output">{formatPayload(step.output) || "—"}</Code>
            )}
          </Section>
          {step.error?.message && (
            <Section title="Error">
              <Code block color="red.1" data-testid="step-error">
                {step.error.type ? `${step.error.type}: ` : ""}
                {step.error.message}
              </Code>
            </Section>
          )}
          <Section title={`Streamed output (${step.lines.length})`}>
            <Code block data-testid="step-stream" style={{ maxHeight: 240, overflow: "auto" }}>
              {step.lines.join("\n") || "—"}
            </Code>
          </Section>
          <Section title="Attempts">
            <Attempts step={step} now={now} />
          </Section>
        </Stack>
      )}
    </Drawer>
  );
}

function Header({ step }: { step: StepModel }) {
  return (
    <Group gap="xs">
      <Title order={4}>{step.stepId}</Title>
      <StateBadge state={step.state} />
    </Group>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div>
      <Title order={6} mb={4}>{title}</Title>
      {children}
    </div>
  );
}

function Inputs({ model, step }: { model: WorkflowModel; step: StepModel }) {
  return (
    <Section title="Inputs">
      <Stack gap={6} data-testid="step-inputs">
        {step.dependencies.length ? (
          step.dependencies.map((dep) => (
            <div key={dep}>
              <Badge variant="outline" size="sm">{dep}</Badge>
              <Code block>{formatPayload(model.steps.get(dep)?.output) || "—"}</Code>
            </div>
          ))
        ) : (
          <Text size="sm" c="dimmed">No dependency.</Text>
        )}
        <Text size="sm" fw={500}>Workflow context</Text>
        <Code block>{formatPayload(model.context) || "—"}</Code>
      </Stack>
    </Section>
  );
}

function Attempts({ step, now }: { step: StepModel; now: number }) {
  if (!step.attempts.length) return <Text size="sm" c="dimmed">None yet.</Text>;
  return (
    <Table withTableBorder data-testid="step-attempts">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>#</Table.Th>
          <Table.Th>Agent</Table.Th>
          <Table.Th>Started</Table.Th>
          <Table.Th>Duration</Table.Th>
          <Table.Th>Outcome</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {step.attempts.map((a) => (
          <Table.Tr key={a.attempt}>
            <Table.Td>{a.attempt}</Table.Td>
            <Table.Td>{a.agentId || "—"}</Table.Td>
            <Table.Td>{new Date(a.start).toLocaleTimeString()}</Table.Td>
            <Table.Td>{formatSeconds(a.executionSeconds || ((a.end || now) - a.start) / 1000)}</Table.Td>
            <Table.Td>
              {a.outcome}
              {a.error?.message ? `: ${a.error.message}` : ""}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
