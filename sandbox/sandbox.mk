# The sandbox on kind: included by the Makefile. Scripts live in sandbox/scripts/.
#
#   make preflight       check Docker, kind, kubectl, ports, memory and disk (creates nothing)
#   make up              cluster, images, ring 0, Secrets, ring 1, simulator; re-run to update
#   make up DRY_RUN=1    print every command instead of running it (installs nothing either)
#   make up LOW_RESOURCES=1   smaller pods and parallelism 3, for an 8 GB laptop
#   make creds           the Airflow URL and logins
#   make status | make logs [C=airflow-scheduler]
#   make down            stop the cluster, keep its data;  make down PURGE=1  delete it all
#
# kubectl for the sandbox: kubectl --kubeconfig sandbox/.kubeconfig ... (never your current context)

SANDBOX_SCRIPTS := sandbox/scripts
DRY_RUN ?=
LOW_RESOURCES ?=
PURGE ?=
export DRY_RUN LOW_RESOURCES PURGE

.PHONY: up down status logs creds preflight

# A dry run needs no virtualenv: it only prints what would run.
up: $(if $(filter-out 0,$(DRY_RUN)),,$(STAMP)) ## Sandbox on kind (DRY_RUN=1 plan, LOW_RESOURCES=1 for 8 GB)
	@DATASURFACE=$(abspath $(BIN))/datasurface bash $(SANDBOX_SCRIPTS)/up.sh

down: ## Stop the kind sandbox, keeping its data (PURGE=1 deletes cluster and data)
	@bash $(SANDBOX_SCRIPTS)/down.sh

preflight: ## Check Docker, buildx, kind, kubectl, ports, memory, disk for `make up`
	@bash $(SANDBOX_SCRIPTS)/preflight.sh

creds: ## Airflow URL and logins of the kind sandbox
	@bash $(SANDBOX_SCRIPTS)/creds.sh

status: ## Sandbox cluster, pods, jobs, services and volumes
	@bash $(SANDBOX_SCRIPTS)/status.sh

logs: ## Recent logs of each sandbox component (C=deployment-name follows one)
	@C=$(C) bash $(SANDBOX_SCRIPTS)/logs.sh
