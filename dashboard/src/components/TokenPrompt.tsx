// Shown when a call answered 401: the token entered is kept in sessionStorage and
// every later call (and the event stream) sends it.
import { Button, Modal, PasswordInput, Stack, Text } from "@mantine/core";
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { onAuthChange, setToken, token, tokenNeeded } from "../api/auth";

export function TokenPrompt() {
  const open = useSyncExternalStore(onAuthChange, tokenNeeded);
  const [value, setValue] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setToken(value.trim());
    setValue("");
  };
  return (
    <Modal opened={open} onClose={() => undefined} withCloseButton={false} title="Sign in">
      <form onSubmit={submit} data-testid="token-prompt">
        <Stack>
          <Text size="sm">
            {token() ? "The server refused the token." : "The server asks for a token."} Paste
            a dwe bearer token (for example from <code>dwe token</code>).
          </Text>
          <PasswordInput
            label="Token"
            value={value}
            onChange={(e) => setValue(e.currentTarget.value)}
            data-autofocus
            name="token"
          />
          <Button type="submit" disabled={!value.trim()}>
            Use token
          </Button>
        </Stack>
      </form>
    </Modal>
  );
}
