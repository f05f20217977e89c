// A small SVG line chart of one sampled series (oldest first, one value per interval).
import { Text } from "@mantine/core";

interface Props {
  values: number[];
  /** Seconds between samples, for the time axis. */
  interval: number;
  unit: string;
  color?: string;
}

const W = 460;
const H = 160;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };

export function LineChart({ values, interval, unit, color = "blue" }: Props) {
  if (!values.length) return <Text c="dimmed" size="sm">No samples yet.</Text>;
  const max = Math.max(...values, 1e-9);
  const top = niceCeil(max);
  const n = values.length;
  const x = (i: number) => PAD.left + (n === 1 ? 0 : (i / (n - 1)) * (W - PAD.left - PAD.right));
  const y = (v: number) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  const line = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const area = `${x(0)},${y(0)} ${line} ${x(n - 1)},${y(0)}`;
  const stroke = `var(--mantine-color-${color}-6)`;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={`chart in ${unit}`}>
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(top * f)} y2={y(top * f)} stroke="var(--mantine-color-gray-3)" />
          <text x={PAD.left - 4} y={y(top * f) + 4} fontSize={10} textAnchor="end" fill="var(--mantine-color-dimmed)">
            {short(top * f)}
          </text>
        </g>
      ))}
      <polygon points={area} fill={stroke} opacity={0.12} />
      <polyline points={line} fill="none" stroke={stroke} strokeWidth={1.8} />
      <text x={PAD.left} y={H - 4} fontSize={10} fill="var(--mantine-color-dimmed)">
        −{Math.round((n - 1) * interval)} s
      </text>
      <text x={W - PAD.right} y={H - 4} fontSize={10} textAnchor="end" fill="var(--mantine-color-dimmed)">
        now ({unit})
      </text>
    </svg>
  );
}

/** 1, 2 or 5 times a power of ten, at least `v`: round numbers on the axis. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function short(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k`;
  return v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(v >= 1 ? 1 : 2);
}
