// A Gantt chart of the attempts: one row per step, one bar per attempt, in SVG.
import { ScrollArea, Text } from "@mantine/core";
import { formatSeconds } from "../lib/format";
import type { Attempt, WorkflowModel } from "./model";

const ROW = 22;
const LABEL = 150;
const WIDTH = 900;
const OUTCOME: Record<Attempt["outcome"], string> = {
  running: "var(--mantine-color-blue-5)",
  completed: "var(--mantine-color-green-6)",
  failed: "var(--mantine-color-red-6)",
};

export function Timeline({ model, now }: { model: WorkflowModel; now: number }) {
  const rows = model.order.map((id) => model.steps.get(id)!).filter((s) => s.attempts.length);
  if (!rows.length) return <Text c="dimmed">No attempt yet.</Text>;
  let start = Infinity;
  let end = 0;
  for (const s of rows)
    for (const a of s.attempts) {
      start = Math.min(start, a.start);
      end = Math.max(end, a.end || now);
    }
  const span = Math.max(end - start, 1);
  const x = (t: number) => LABEL + ((t - start) / span) * (WIDTH - LABEL - 10);
  const height = rows.length * ROW + 20;
  return (
    <ScrollArea type="auto" data-testid="timeline">
      <svg width={WIDTH} height={height} role="img" aria-label="attempt timeline">
        {rows.map((s, i) => (
          <g key={s.stepId} transform={`translate(0, ${i * ROW})`}>
            <text x={4} y={15} fontSize={12} fill="var(--mantine-color-text)">
              {s.stepId.length > 20 ? `${s.stepId.slice(0, 19)}…` : s.stepId}
            </text>
            {s.attempts.map((a) => (
              <rect
                key={a.attempt}
                x={x(a.start)}
                y={4}
                width={Math.max(2, x(a.end || now) - x(a.start))}
                height={ROW - 8}
                rx={3}
                fill={OUTCOME[a.outcome]}
              >
                <title>
                  {`${s.stepId} attempt ${a.attempt} on ${a.agentId || "?"}: ${a.outcome}, ${formatSeconds(((a.end || now) - a.start) / 1000)}`}
                </title>
              </rect>
            ))}
          </g>
        ))}
        <text x={LABEL} y={height - 4} fontSize={11} fill="var(--mantine-color-dimmed)">
          {new Date(start).toLocaleTimeString()}
        </text>
        <text x={WIDTH - 10} y={height - 4} fontSize={11} textAnchor="end" fill="var(--mantine-color-dimmed)">
          +{formatSeconds(span / 1000)}
        </text>
      </svg>
    </ScrollArea>
  );
}
