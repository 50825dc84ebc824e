# Two commands matter: `make deploy` and `make test`. Each installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
AUTH_WHEELS := build/wheelhouse/lark_auth_server
AUTH_WHEELS_STAMP := $(if $(wildcard lark_auth_server/requirements.txt),$(AUTH_WHEELS)/requirements.txt)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# cdk.json's app (scripts/cdk_app.py) finds the venv itself; the venv first on PATH saves a hop.
CDK := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./node_modules/.bin/cdk --no-notices
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup synth diff deploy destroy test lint format local verify clean fake-lark

setup: $(VENV)/.installed node_modules/.installed $(AUTH_WHEELS_STAMP) ## venv + pinned CDK CLI + Lambda wheels (idempotent, instant when done)

$(VENV)/.installed: requirements.txt requirements-dev.txt lark_mcp_server/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The authorization server Lambda's wheels for linux/arm64 (docs/user-auth.md): fetched here, once,
# so that synth bundles offline and without Docker. Re-fetched when its requirements change.
$(AUTH_WHEELS)/requirements.txt: lark_auth_server/requirements.txt | $(VENV)/.installed
	$(PY) -m mcp_constructs.python_bundle download $< $(AUTH_WHEELS)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup ## write the templates to cdk.out/ (no AWS account, no Docker needed)
	$(CDK) synth --quiet

diff: setup ## what a deploy would change in the account (asset-hash-only changes folded into one line)
	set -o pipefail; $(CDK) diff 2>&1 | $(PY) scripts/readable_diff.py

# `make bootstrap [REGION=eu-west-1] [ACCOUNT=123456789012]`: once per account and region.
.PHONY: bootstrap
bootstrap: setup ## cdk bootstrap (default: the account and region of your AWS credentials)
	$(CDK) bootstrap $(if $(or $(REGION),$(ACCOUNT)),aws://$(or $(ACCOUNT),unknown-account)/$(or $(REGION),unknown-region))

# The doctor reads the templates `synth` wrote; the deploy ships that same assembly (one synth).
deploy: setup synth doctor ## deploy every stack (needs AWS credentials and `make bootstrap` once)
	$(CDK) deploy --all --require-approval never --app cdk.out
	$(PY) -m mcp_constructs.stale_refs --assembly cdk.out --fix

.PHONY: doctor
# `make doctor [REGION=eu-west-1]`; docs/troubleshooting.md lists every message and its fix.
doctor: setup synth ## preflight: credentials, bootstrap, Docker for arm64, AgentCore, Lambda concurrency, resource types
	$(PY) -m mcp_constructs.doctor --assembly cdk.out $(if $(REGION),--region $(REGION))

destroy: setup
	$(CDK) destroy --all

test: setup browser ## the whole suite, offline (one worker per core; a test file stays on one worker)
	$(PY) -m pytest -n auto --dist loadfile

.PHONY: browser
# The real-browser tests drive Debian's headless chromium through its matching chromedriver.
browser: ## headless chromium + chromedriver for the sign-in page tests (apt, once)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "make test needs chromium and chromedriver: sudo apt-get install chromium chromium-driver" >&2; exit 2; fi

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# `make local USER_AUTH=1`: the whole sign-in chain on loopback (fake Lark and Feishu unless
# LARK_APP_ID/LARK_APP_SECRET are set); prints the MCP URL to paste into any MCP client.
local: setup ## run the MCP server on http://$(HOST):$(PORT)/mcp [USER_AUTH=1: the sign-in chain]
ifdef USER_AUTH
	PORT=$(PORT) $(PY) -m local_gateway.chain
else
	HOST=$(HOST) PORT=$(PORT) $(PY) -m lark_mcp_server
endif

.PHONY: quicksuite
quicksuite: setup ## Quick Suite MCP form fields of the deployed stacks [TEAM=name | USER_AUTH=1] [SHOW_SECRET=1] [JSON=1]
	$(PY) -m mcp_constructs.quicksuite $(if $(TEAM),--team $(TEAM)) $(if $(USER_AUTH),--user-auth) $(if $(SHOW_SECRET),--show-secret) $(if $(JSON),--json)

.PHONY: sign-out
sign-out: setup ## sign a person out everywhere: USER=<open_id or email> [STACK_PREFIX=LarkMcp [REGION=..]] (else the local store)
	$(if $(filter command line,$(origin USER)),,$(error give USER=<open_id or email> on the command line))
	$(PY) -m lark_auth_server.sign_out '$(USER)' $(if $(STACK_PREFIX),--stack-prefix $(STACK_PREFIX)) $(if $(REGION),--region $(REGION))

.PHONY: bench
bench: setup ## ours vs bare mcp vs lark-mcp on loopback; table + bench/results.json (~3 min)
	$(PY) -m bench.run --user-auth

# `make verify URL=http://127.0.0.1:8000/mcp` (local server, no auth) or
# `make verify [STACK_PREFIX=LarkMcp] [REGION=eu-west-1] [TEAM=ops | CLIENT=name]` (deployed; the
# prefix defaults to cdk.json's stackPrefix). After listing it calls one read-only tool
# (list_chats), so an unfilled Lark secret fails; VERIFY_ARGS passes more flags, e.g.
# VERIFY_ARGS="--json --read-only", "--call list_calendars" or "--no-call".
# The sign-in path (docs/deploy-checks.md): `make verify USER_AUTH=1 [STACK_PREFIX=..] [REGION=..]`
# or `make verify USER_AUTH=1 ISSUER=http://127.0.0.1:8001 [URL=<user gateway>] VERIFY_ARGS=...`.
verify: setup ## token + tools/list + one read call (list_chats); non-zero unless all tools are listed and Lark answers
ifdef USER_AUTH
	$(if $(ISSUER),,$(PY) -m mcp_constructs.stale_refs $(if $(STACK_PREFIX),--stack-prefix $(STACK_PREFIX)) $(if $(REGION),--region $(REGION)))
	$(PY) -m mcp_constructs.verify_sign_in \
		$(if $(ISSUER),--issuer $(ISSUER) $(if $(URL),--gateway-url $(URL)),$(if $(STACK_PREFIX),--stack-prefix $(STACK_PREFIX))) \
		$(if $(REGION),--region $(REGION)) $(VERIFY_ARGS)
else
	$(if $(URL),,$(PY) -m mcp_constructs.stale_refs $(if $(STACK_PREFIX),--stack-prefix $(STACK_PREFIX)) $(if $(REGION),--region $(REGION)))
	$(PY) -m mcp_constructs.verify $(if $(URL),--url $(URL),$(if $(STACK_PREFIX),--stack-prefix $(STACK_PREFIX))) \
		$(if $(REGION),--region $(REGION)) $(if $(CLIENT),--client $(CLIENT)) \
		$(if $(TEAM),--team $(TEAM)) $(VERIFY_ARGS)
endif

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache

fake-lark: setup ## serve the fake Lark OpenAPI on http://127.0.0.1:9999 (app cli_fake_app / fake-secret)
	$(PY) -m tests.lark_fake --port 9999
