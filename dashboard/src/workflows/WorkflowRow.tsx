import { Anchor, Group, Progress, Table, Text } from "@mantine/core";
import { memo } from "react";
import { StateBadge } from "../components/StateBadge";
import { formatSeconds, stateName, TERMINAL } from "../lib/format";
import { follow, href } from "../lib/router";
import type { Row } from "./rows";

// Memoised on the row object and `now`: an event replaces only its own row's object,
// and `now` is passed only to rows still running, so a frame re-renders few rows.
export const WorkflowRow = memo(function WorkflowRow({ row, now }: { row: Row; now: number }) {
  const ended = TERMINAL.has(stateName(row.state));
  const end = row.finishedAt || (ended ? 0 : now);
  const progress = row.totalSteps ? (100 * row.completedSteps) / row.totalSteps : 0;
  return (
    <Table.Tr data-testid="workflow-row" data-workflow-id={row.id}>
      <Table.Td>
        <Anchor href={href({ page: "workflow", id: row.id })} onClick={follow}>
          {row.name || "(unnamed)"}
        </Anchor>
      </Table.Td>
      <Table.Td>
        <Text size="xs" ff="monospace">{row.id}</Text>
      </Table.Td>
      <Table.Td>{row.namespace || "…"}</Table.Td>
      <Table.Td>
        <StateBadge state={row.state} />
      </Table.Td>
      <Table.Td miw={120}>
        <Group gap={6} wrap="nowrap">
          <Progress value={progress} w={70} size="sm" />
          <Text size="xs">{row.completedSteps}/{row.totalSteps}</Text>
        </Group>
      </Table.Td>
      <Table.Td>
        <Text size="sm">{row.createdAt ? new Date(row.createdAt).toLocaleString() : "—"}</Text>
      </Table.Td>
      <Table.Td>{row.createdAt && end ? formatSeconds(Math.max(0, end - row.createdAt) / 1000) : "—"}</Table.Td>
    </Table.Tr>
  );
});
