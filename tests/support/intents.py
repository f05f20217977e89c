"""An intent rules file for tests: "refund ... order ORD-n" maps to a two-step template."""

REFUND_RULES = """
intents:
  refund:
    keywords: [refund, money, order]
    patterns: ['\\brefund\\b.*\\border\\b']
    workflow: refund_flow
entities:
  order_id: '\\bORD-\\d+\\b'
templates:
  refund_flow:
    name: Refund
    execution_mode: sequential
    context: {order: '{order_id}', source: chat}
    steps:
      - {step_id: check, agent_capability: payments}
      - {step_id: pay, agent_capability: payments, dependencies: [check]}
"""
