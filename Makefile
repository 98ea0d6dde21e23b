# lvs.dr: top-level commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.DEFAULT_GOAL := help

STAGES := sanity units lint integration matrix ha molecule

.PHONY: help bootstrap test demo changelog clean $(STAGES)

help: ## Show the targets
	@grep -E '^[a-z][a-zA-Z_ -]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

bootstrap: ## Install system packages, .venv/ and the lvs.dr collection path
	scripts/bootstrap.sh

test: ## Everything: sanity, units, lint, integration (lab VM), matrix (ansible-core 2.16-2.19), ha and molecule (scenarios)
	scripts/test.sh

# Single stages: `make sanity`, `make sanity units lint` (one run, one summary).
STAGE_GOALS := $(filter $(STAGES),$(MAKECMDGOALS))
ifneq ($(STAGE_GOALS),)
$(firstword $(STAGE_GOALS)):
	scripts/test.sh $(STAGE_GOALS)
$(filter-out $(firstword $(STAGE_GOALS)),$(STAGES)):
	@:
endif

demo: ## The main job: an LVS-DR cluster in the lab, proven with real traffic
	scripts/demo.sh

changelog: bootstrap ## Build CHANGELOG.rst from changelogs/fragments
	.venv/bin/antsibull-changelog release

clean: ## Remove test output (keeps .venv)
	rm -rf tests/output
