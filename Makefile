# Two commands on a fresh machine (Python 3.11+, Node 22+ LTS as package.json's engines pins):  make synth  and  make test.
# Every target installs what it needs into .venv/ and node_modules/ first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
ENV ?= dev
# W3005: CDK's Lambda Function always adds DependsOn its role although Role: GetAtt already orders them.
# W3010: an environment with account and region gets the code sandbox's subnets in the availability
# zones CDK looked up for that account (cdk.context.json), written out by name.
CFN_LINT_ARGS := --ignore-checks W3005 W3010

# jsii prints a Node end-of-life banner on every call; the CLI must not phone home.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20,18
export CDK_DISABLE_VERSION_CHECK := true
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: setup check-cdk-json synth test lint bench dryrun deploy deploy-pipeline diff lock repro clean snapshots versions invoke job post-deploy-check

setup: check-cdk-json $(VENV)/.installed node_modules/.installed

# cdk.json's syntax, with the line and column of a mistake (the CDK CLI gives neither).
check-cdk-json:
	@$(PYTHON) tools/check_cdk_json.py cdk.json

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt lambdas/evaluator_registration/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# `make synth ENV=name` (given on the command line) synthesizes and checks that environment only;
# plain `make synth` every environment and the pipeline. (Not from the shell's environment: sh uses $ENV.)
SYNTH_SELECT := $(if $(filter command line,$(origin ENV)),-c env=$(ENV))
SYNTH_WHAT := $(if $(SYNTH_SELECT),environment $(ENV),every environment (pipeline stages included))

## Synthesize every environment in cdk.json into cdk.out/ (no AWS account needed),
## failing on any cdk-nag finding, lint every template with cfn-lint, and check that the
## Lambda bundle of every function kind imports and scores on its own. ENV=name: that one only.
synth: setup
	$(PY) tools/lock.py --check
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices $(SYNTH_SELECT)
	$(VENV)/bin/cfn-lint $$(find cdk.out -name '*.template.json') $(CFN_LINT_ARGS)
	$(PY) tools/check_bundle.py cdk.out
	@echo "synth OK: $$(find cdk.out -name '*.template.json' | wc -l) template(s) in cdk.out/ for $(SYNTH_WHAT), cdk-nag clean, cfn-lint clean, every bundle matches its lock and imports"

## Everything CI runs: lint (ruff), types (mypy), then the tests; any finding fails.
test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest

## While developing: lint, types and every test except those marked slow (seconds each: hostile
## programs, the judge at scale, the emulator and clean-copy runs) or hostile. CI runs make test.
.PHONY: test-fast
test-fast: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -m "not slow and not hostile"

## After a reviewed change to cdk.json (or the code): accept the new templates of the team's own
## environments (tests/synth/__snapshots__/test_snapshots/; the only tests that read cdk.json).
snapshots: setup
	$(PY) -m pytest tests/synth/test_snapshots.py --snapshot-update -q -p no:cacheprovider

## Lint (ruff), types (mypy) and complexity (radon): every block of complexity C or worse is
## listed, and any D or worse fails.
COMPLEXITY_PATHS := app.py lambdas stacks tools ops
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	@echo "radon: blocks of complexity C or worse (D or worse fails)"
	$(VENV)/bin/radon cc --min C --show-complexity $(COMPLEXITY_PATHS)
	@worse="$$($(VENV)/bin/radon cc --min D --show-complexity $(COMPLEXITY_PATHS))"; \
	if [ -n "$$worse" ]; then echo "radon: complexity D or worse:"; echo "$$worse"; exit 1; fi

## Throughput, log volume and import time against a naive baseline measured in the same run.
bench: setup
	$(PY) bench/run.py

## Score your own rollouts: make dryrun DATA=samples.jsonl SPEC=spec.json [ARGS="--png hist.png"]
dryrun: setup
	PYTHONPATH=lambdas $(PY) -m reward_kit.dryrun --data $(DATA) --spec $(SPEC) $(ARGS)

## Deploy / diff one environment; extra CDK arguments in ARGS, e.g. from automation:
##   make deploy ENV=staging ARGS="--require-approval never"
##   make deploy ENV=dev ARGS="-c name_suffix=alice"    (a second copy of dev in the same account)
deploy: setup
	$(CDK) deploy --no-notices -c env=$(ENV) --all $(ARGS)

## Once, with the pipeline account's credentials, when context.pipeline.enabled (it updates itself after).
deploy-pipeline: setup
	$(CDK) deploy --no-notices NovaRftRewards-Pipeline

diff: setup
	$(CDK) diff --no-notices -c env=$(ENV) $(ARGS)

## After a deploy (ops/, AWS credentials): versions and which is live; run the deployed version
## on your rollouts and diff it with a local dry run; start a training job from the outputs.
##   make versions ENV=dev [FN=gsm8k]
##   make invoke ENV=dev FN=gsm8k DATA=rollouts.jsonl [VERSION=3] [ARGS="--batch-size 16"]
##   make job ENV=dev FN=gsm8k BASE_MODEL=<id> TRAIN=s3://... [ARGS="--batch-size 64 --dry-run"]
versions: setup
	$(PY) -m ops.versions --env $(ENV) $(if $(FN),--function $(FN)) $(ARGS)

invoke: setup
	$(PY) -m ops.invoke --env $(ENV) --function $(FN) --data $(DATA) $(if $(VERSION),--version $(VERSION)) $(ARGS)

## The pipeline's step after each stage's deploy (also by hand): every live version on its example data.
post-deploy-check: setup
	$(PY) -m ops.post_deploy --env $(ENV) $(ARGS)

job: setup
	$(PY) -m ops.job --env $(ENV) --function $(FN) --base-model "$(BASE_MODEL)" --train "$(TRAIN)" $(ARGS)

## Re-lock every Lambda asset's dependencies after editing its top-level requirements
## (lambdas/requirements.txt) or adding an asset (stacks/lambda_assets.py): writes
## lambdas/locks/<asset>.txt with uv (manylinux aarch64, CPython 3.13, hashes). Needs the index.
lock: setup
	$(PY) tools/lock.py

## Evidence that a synth is reproducible: two synths of this commit give byte-identical assets.
repro: setup
	rm -rf cdk.out.repro-a cdk.out.repro-b
	$(CDK) synth --quiet --no-notices -o cdk.out.repro-a
	$(CDK) synth --quiet --no-notices -o cdk.out.repro-b
	$(PY) tools/tree_digest.py cdk.out.repro-a cdk.out.repro-b

clean:
	rm -rf cdk.out cdk.out.repro-a cdk.out.repro-b .pytest_cache .hypothesis .mypy_cache .ruff_cache
