// The shell: navigation, the token prompt, and the page of the current path.
import { AppShell, Badge, Group, NavLink, Title } from "@mantine/core";
import { AgentsPage } from "./pages/AgentsPage";
import { MetricsPage } from "./pages/MetricsPage";
import { WorkflowPage } from "./pages/WorkflowPage";
import { WorkflowsPage } from "./pages/WorkflowsPage";
import { TokenPrompt } from "./components/TokenPrompt";
import { useServerInfo } from "./lib/serverInfo";
import { onAuthChange, token } from "./api/auth";
import { useSyncExternalStore } from "react";
import { follow, href, parse, usePath, type Route } from "./lib/router";

const NAV: { label: string; route: Route }[] = [
  { label: "Workflows", route: { page: "workflows" } },
  { label: "Agents", route: { page: "agents" } },
  { label: "Metrics", route: { page: "metrics" } },
];

export function App() {
  const route = parse(usePath());
  const info = useServerInfo();
  // A new token remounts the page, so it asks again with it.
  const bearer = useSyncExternalStore(onAuthChange, token);
  const active = route.page === "workflow" ? "workflows" : route.page;
  return (
    <AppShell header={{ height: 52 }} navbar={{ width: 180, breakpoint: 0 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Title order={4}>dwe</Title>
          <Group gap="xs">
            {info?.subject && <Badge variant="light">{info.subject}</Badge>}
            {info?.role && <Badge variant="outline">{info.role}</Badge>}
            {info?.version && <Badge color="gray" variant="transparent">v{info.version}</Badge>}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {NAV.map((item) => (
          <NavLink
            key={item.label}
            component="a"
            href={href(item.route)}
            onClick={follow}
            label={item.label}
            active={active === item.route.page}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Page key={bearer} route={route} namespaces={info?.namespaces ?? []} />
      </AppShell.Main>
      <TokenPrompt />
    </AppShell>
  );
}

function Page({ route, namespaces }: { route: Route; namespaces: string[] }) {
  switch (route.page) {
    case "workflow":
      return <WorkflowPage key={route.id} id={route.id} />;
    case "agents":
      return <AgentsPage />;
    case "metrics":
      return <MetricsPage />;
    default:
      return <WorkflowsPage namespaces={namespaces} />;
  }
}
