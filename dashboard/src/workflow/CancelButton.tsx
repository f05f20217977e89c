// POST /api/v1/workflows/{id}/cancel, with the server's answer shown next to it.
import { Button, Group, Text } from "@mantine/core";
import { useState } from "react";
import { cancelWorkflow } from "../api/client";
import { stateName } from "../lib/format";

export function CancelButton({ id, ended }: { id: string; ended: boolean }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string }>();
  const cancel = () => {
    setBusy(true);
    cancelWorkflow(id, "cancelled from the dashboard").then(
      (r) =>
        setResult({
          ok: true,
          text: r.cancelled ? `Cancelled (${stateName(r.state)})` : `Already ended: ${stateName(r.state)}`,
        }),
      (e: Error) => setResult({ ok: false, text: `Cancel failed: ${e.message}` }),
    ).finally(() => setBusy(false));
  };
  return (
    <Group gap="xs">
      {result && (
        <Text size="sm" c={result.ok ? "dimmed" : "red"} data-testid="cancel-result">
          {result.text}
        </Text>
      )}
      <Button color="red" variant="light" loading={busy} disabled={ended} onClick={cancel} data-testid="cancel-workflow">
        Cancel workflow
      </Button>
    </Group>
  );
}
