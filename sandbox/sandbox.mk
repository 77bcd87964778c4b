# The sandbox on kind: included by the Makefile. Scripts live in sandbox/scripts/.
#
#   make up            cluster, images, ring 0, Secrets, ring 1, simulator; prints the Airflow URL
#   make up DRY_RUN=1  print every command instead of running it (installs nothing either)
#   make status | make logs [C=airflow-scheduler] | make down

SANDBOX_SCRIPTS := sandbox/scripts
DRY_RUN ?=
export DRY_RUN

.PHONY: up down status logs

# A dry run needs no virtualenv: it only prints what would run.
up: $(if $(filter-out 0,$(DRY_RUN)),,$(STAMP)) ## Sandbox on kind (DRY_RUN=1 prints the commands)
	@DATASURFACE=$(abspath $(BIN))/datasurface bash $(SANDBOX_SCRIPTS)/up.sh

down: ## Delete the sandbox's kind cluster (keeps sandbox/.env)
	@bash $(SANDBOX_SCRIPTS)/down.sh

status: ## Sandbox cluster, pods, jobs, services and volumes
	@bash $(SANDBOX_SCRIPTS)/status.sh

logs: ## Recent logs of each sandbox component (C=deployment-name follows one)
	@C=$(C) bash $(SANDBOX_SCRIPTS)/logs.sh
