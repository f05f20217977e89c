"""The server's HTTP port: the web dashboard, its JSON and SSE gateway to dwe.v1, and
Prometheus ``/metrics``."""
