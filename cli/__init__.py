"""The ``dwe`` command: runs the server or an agent, and drives workflows as a client.

It assembles the server, the agent SDK and the clients, so it sits above all of them.
"""
