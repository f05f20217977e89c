# dwe: every target sets up .venv/ itself, so `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTOS := $(wildcard protos/dwe/v1/*.proto)
BUF := tools/buf/node_modules/.bin/buf

.PHONY: demo run test lint layers fmt typecheck proto check-proto proto-lint proto-breaking \
	proto-release buf-deps bench bench-quick bench-idempotency bench-retention clean node-deps \
	soak bench-peers bench-profile bench-placement \
	faults faults-secure node-proto check-node-proto test-postgres bench-postgres faults-postgres \
	dashboard check-dashboard dashboard-screenshot

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m examples.account_analysis

run: $(STAMP)
	$(VENV)/bin/dwe server

test: $(STAMP) check-proto proto-lint proto-breaking lint typecheck node-deps check-node-proto \
	check-dashboard
	$(PY) -m pytest -q

# The same suite with every server on PostgreSQL (a private cluster: tests/support/postgres.py).
test-postgres: $(STAMP) node-deps
	DWE_TEST_STORE=postgres $(PY) -m pytest -q

# The fault suite, full length (issue 7): kill -9 of server and agents under W2 load, a disk
# that fills, and the bad-input tables. `make test` runs a short version of tests/faults.
FAULT_TESTS := tests/faults tests/server/test_bad_input.py tests/server/test_properties.py \
	tests/server/test_server_store_failure.py tests/server/test_server_undecodable.py

faults: $(STAMP)
	@run=$$(date +%s); \
	DWE_FAULTS=full DWE_FAULTS_RUN=$$run $(PY) -m pytest -q $(FAULT_TESTS); code=$$?; \
	$(PY) -m tests.faults.report $$run; exit $$code

# The same with TLS and auth on (tests/faults/conftest.py makes the CA and the tokens).
faults-secure: $(STAMP)
	@run=$$(date +%s); \
	DWE_FAULTS_SECURE=1 DWE_FAULTS=full DWE_FAULTS_RUN=$$run $(PY) -m pytest -q tests/faults; \
	code=$$?; $(PY) -m tests.faults.report $$run; exit $$code

# The same on PostgreSQL (each fault cluster gets a database on a private cluster).
faults-postgres: $(STAMP)
	@run=$$(date +%s); \
	DWE_TEST_STORE=postgres DWE_FAULTS=full DWE_FAULTS_RUN=$$run $(PY) -m pytest -q $(FAULT_TESTS); \
	code=$$?; $(PY) -m tests.faults.report $$run; exit $$code

# The Node.js SDK (clients/node, @dwe/sdk): its dependencies and its build (dist/), when
# Node.js is installed (its tests are skipped otherwise).
node-deps:
	@if command -v npm >/dev/null 2>&1; then \
		cd clients/node && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build \
			&& touch node_modules/.bin/protoc-gen-es; \
	else echo "npm not found: the Node.js SDK tests will be skipped"; fi

# The Node.js SDK's TypeScript types of protos/ (protoc-gen-es, clients/node/buf.gen.yaml).
NODE_GEN := clients/node/node_modules/.bin/protoc-gen-es

$(NODE_GEN): clients/node/package.json clients/node/package-lock.json
	cd clients/node && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_GEN)

node-proto: $(BUF) $(NODE_GEN)
	cd clients/node && ../../$(BUF) generate

# Regenerates the TypeScript types into a scratch copy and fails when the committed ones differ.
check-node-proto:
	@if ! command -v npm >/dev/null 2>&1; then echo "npm not found: TypeScript types not checked"; \
	else $(MAKE) --no-print-directory $(BUF) $(NODE_GEN) && \
		rm -rf .node-proto-check && mkdir -p .node-proto-check && \
		sed 's#out: src/gen#out: ../../.node-proto-check/gen#' clients/node/buf.gen.yaml \
			> .node-proto-check/buf.gen.yaml && \
		(cd clients/node && ../../$(BUF) generate --template ../../.node-proto-check/buf.gen.yaml) && \
		if diff -r -q clients/node/src/gen .node-proto-check/gen >/dev/null; then \
			echo "generated TypeScript code is up to date"; rm -rf .node-proto-check; \
		else diff -r clients/node/src/gen .node-proto-check/gen | head -20; rm -rf .node-proto-check; \
			echo "generated TypeScript code is stale: run 'make node-proto' and commit"; exit 1; fi; fi

# The web dashboard (dashboard/, issue 11): its sources build into server/http/static/,
# which is committed so that `pip install` needs no Node.js.
VITE := dashboard/node_modules/.bin/vite

$(VITE): dashboard/package.json dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	touch $(VITE)

dashboard:
	@command -v npm >/dev/null 2>&1 || { echo "npm is needed to build the dashboard"; exit 1; }
	@$(MAKE) --no-print-directory $(VITE)
	cd dashboard && npm run --silent build

# Builds the dashboard into a scratch folder and fails when the committed build differs
# (the build is deterministic: same sources and lockfile, byte-identical output).
check-dashboard:
	@if ! command -v npm >/dev/null 2>&1; then echo "npm not found: dashboard build not checked"; \
	else $(MAKE) --no-print-directory $(VITE) && rm -rf .dashboard-check && \
		(cd dashboard && DWE_DASHBOARD_OUT=$(CURDIR)/.dashboard-check npm run --silent build \
			>/dev/null) && \
		if diff -r -q server/http/static .dashboard-check >/dev/null; then \
			echo "built dashboard is up to date"; rm -rf .dashboard-check; \
		else diff -r -q server/http/static .dashboard-check | head -20; rm -rf .dashboard-check; \
			echo "built dashboard is stale: run 'make dashboard' and commit"; exit 1; fi; fi

# The browser test (Playwright driving Debian's Chromium) writing the README's screenshot,
# docs/images/dashboard.png, besides its own.
dashboard-screenshot: $(STAMP)
	DWE_DOCS_SCREENSHOT=1 $(PY) -m pytest -q tests/dashboard

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/check_layers.py

# The layer contracts (.importlinter) and size limits alone (also part of lint).
layers: $(STAMP)
	$(PY) tools/check_layers.py

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The second run checks the client-side packages by their dwe.* names (see the tool).
typecheck: $(STAMP)
	$(VENV)/bin/mypy server agent_sdk clients common cli tools
	$(PY) tools/typecheck_dwe.py

proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=protos --pyi_out=protos $(PROTOS)
	$(PY) -m grpc_tools.protoc -Iprotos --grpc_python_out=protos protos/dwe/v1/service.proto

# The buf CLI (from the npm registry, binary inside the package) for contract checks.
$(BUF): tools/buf/package.json tools/buf/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is needed for buf (make proto-lint)"; exit 1; }
	cd tools/buf && npm ci --no-audit --no-fund --loglevel=error
	touch $(BUF)

buf-deps: $(BUF)

# buf lint: STANDARD plus COMMENTS, so every message, field and enum value is documented.
proto-lint: $(BUF)
	cd protos && ../$(BUF) lint

# buf breaking against the released contract: dwe.v1 only evolves compatibly.
proto-breaking: $(BUF)
	cd protos && ../$(BUF) breaking --against released/dwe-v1.binpb

# Records the current contract as the released one (a release step, not a fix for a red check).
proto-release: $(BUF)
	cd protos && ../$(BUF) build --exclude-source-info -o released/dwe-v1.binpb

# Regenerates into a scratch copy and fails when the committed code differs.
check-proto: $(STAMP)
	@rm -rf .proto-check && mkdir -p .proto-check && cp -r protos .proto-check/
	@$(PY) -m grpc_tools.protoc -I.proto-check/protos --python_out=.proto-check/protos \
		--pyi_out=.proto-check/protos $(addprefix .proto-check/,$(PROTOS))
	@$(PY) -m grpc_tools.protoc -I.proto-check/protos --grpc_python_out=.proto-check/protos \
		.proto-check/protos/dwe/v1/service.proto
	@if diff -r -q -x '__pycache__' protos .proto-check/protos >/dev/null; then \
		echo "generated protobuf code is up to date"; rm -rf .proto-check; \
	else diff -r -x '__pycache__' protos .proto-check/protos | head -20; rm -rf .proto-check; \
		echo "generated protobuf code is stale: run 'make proto' and commit"; exit 1; fi

bench: $(STAMP)
	$(PY) -m bench.run

# The same workloads with the server on a private PostgreSQL cluster (durable defaults).
bench-postgres: $(STAMP)
	BENCH_STORE=postgres $(PY) -m bench.run

# Issue 10's placement candidates: the cost of a claim per dispatch in PostgreSQL.
bench-placement: $(STAMP)
	$(PY) -m bench.placement

# Idempotency keys in memory after 100,000 creates with distinct request ids.
bench-idempotency: $(STAMP)
	$(PY) -m bench.idempotency

# Database growth per 1,000 W2 diamonds with and without retention; synchronous FULL vs NORMAL.
bench-retention: $(STAMP)
	$(PY) -m bench.retention

bench-quick: $(STAMP)
	BENCH_QUICK=1 $(PY) -m bench.run

# W7: 10 minutes (SOAK_SECONDS) of diamonds at half of W2's throughput; RSS and p99 per minute.
soak: $(STAMP)
	$(PY) -m bench.soak

# dwe's W1-W3 and then Ray's and Dask's (../shared/bench/peers/run.sh, built once into
# $PEERBENCH, default /tmp/peerbench), with the ratios dwe / peer of that one run.
bench-peers: $(STAMP)
	$(PY) -m bench.peers

# py-spy (into the venv) on the server during W2 through the guide API: its top entries.
bench-profile: $(STAMP)
	@test -x $(VENV)/bin/py-spy || $(PY) -m pip install --quiet py-spy
	BENCH_ONLY=W2G BENCH_PROFILE=$${BENCH_PROFILE:-/tmp/dwe-bench-profile.txt} $(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .proto-check .dashboard-check *.egg-info build dist
	rm -rf clients/node/node_modules tools/buf/node_modules dashboard/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
