# The sandbox without Docker: included by the Makefile. Logic in datasurface/local_stack.py.
#
#   make demo        the main job in one shot: Postgres, changes, both platforms, views, summary
#   make up-local    Postgres + merge handler + Airflow (127.0.0.1 only; local launcher) + simulator
#   make down-local  stop exactly what up-local / demo started
#   make status-local  what runs, and its memory (PSS)
#   make lab         JupyterLab on the notebooks, pointed at the local stack
#
# Ports: Postgres 127.0.0.1:55432 (DATASURFACE_LOCAL_PG_PORT), Airflow 127.0.0.1:8080
# (DATASURFACE_AIRFLOW_PORT); both are checked before anything starts.

LOCAL_STACK := $(PY) -m datasurface.local_stack

.PHONY: demo up-local down-local status-local lab

demo: $(STAMP) ## The main job: run the whole pipeline locally and print a summary (no Docker)
	@$(LOCAL_STACK) demo

up-local: $(STAMP) ## Local stack with Airflow on 127.0.0.1:8080 (DATASURFACE_AIRFLOW_PORT; Postgres: DATASURFACE_LOCAL_PG_PORT)
	@$(LOCAL_STACK) up

down-local: ## Stop what up-local/demo started (Postgres, Airflow, simulator)
	@if [ -x $(PY) ]; then $(LOCAL_STACK) down; fi

status-local: ## Is the local stack running, and how much memory (PSS) does it take?
	@if [ -x $(PY) ]; then $(LOCAL_STACK) status; else echo "no virtualenv at $(VENV): the local stack was never started (run make demo)"; fi

lab: $(STAMP) ## JupyterLab on notebooks/ against the local stack
	@eval "$$($(LOCAL_STACK) env)" && cd notebooks && ../$(BIN)/jupyter lab --allow-root --no-browser
