# databank — every target sets itself up first; nothing needs installing by hand but Python 3.11,
# Java 17 and Maven (which `setup` checks for and tells how to install).

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
JARS := .jars
export UV_PYTHON_DOWNLOADS := never
export PYSPARK_PYTHON := $(CURDIR)/$(BIN)/python
export GX_ANALYTICS_ENABLED := False
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: setup demo example test test-slow lint bench check-python check-java browser airflow dashboard cluster

setup: check-python check-java $(VENV)/.synced $(JARS)/.copied

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "databank needs Python 3.11 as '$(PYTHON)' (found: $$($(PYTHON) --version 2>&1))."; \
	  echo "Install it (Debian: apt-get install python3.11 python3.11-venv) or run: make PYTHON=python3.11 ..."; \
	  exit 1; }

check-java:
	@command -v java >/dev/null || { \
	  echo "Spark needs Java 17, and no 'java' is on PATH."; \
	  echo "Install it: apt-get update && apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@major=$$(java -version 2>&1 | awk -F'"' '/version/ {split($$2, v, "."); print v[1]; exit}'); \
	  [ "$${major:-0}" -ge 17 ] || { \
	  echo "Spark needs Java 17 or newer; found Java $$major."; \
	  echo "Install it: apt-get update && apt-get install -y openjdk-17-jre-headless"; exit 1; }

# The browser tests (Data Docs, dashboard) drive Debian's headless Chromium; CJK fonts render Chinese names.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=zh | grep -q . || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium, its driver and CJK fonts for the browser tests (Debian packages)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver fonts-noto-cjk >/dev/null; \
	  else \
	    echo "The browser tests need Chromium: apt-get install -y chromium chromium-driver fonts-noto-cjk"; \
	    exit 1; \
	  fi; }

# The lock file pins every package; --frozen installs exactly what it says.
$(VENV)/.synced: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(PYTHON) -m uv sync --frozen --python $(PYTHON)
	@touch $@

# delta-spark's jars for the cluster profile, exactly as jars/pom.xml pins them; fetched again when it
# changes, into an empty folder so no jar of an earlier pin stays on spark.jars.
$(JARS)/.copied: jars/pom.xml
	@command -v mvn >/dev/null || { \
	  echo "The cluster profile's jars (jars/pom.xml) are fetched with Maven, and no 'mvn' is on PATH."; \
	  echo "Install it: apt-get update && apt-get install -y maven"; exit 1; }
	rm -rf $(JARS)
	mvn -q -B -f jars/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(JARS)
	@touch $@

demo: setup
	$(BIN)/databank demo

# The worked example (docs/examples/cdnow.md): CDNOW's purchase log, 69,659 lines, as the PyPI wheel
# of lifetimes 0.11.3 (MIT) packages it, landed with its source mapping and loaded as an 18-month
# history in $(EXAMPLE)/. Starts from an empty data folder each time; the wheel is fetched once.
CDNOW_WHEEL := Lifetimes-0.11.3-py3-none-any.whl
CDNOW_WHEEL_URL := https://files.pythonhosted.org/packages/c5/1f/ee6a471dcb5cb2f4dbc219023e07991f3b917875f9c8a5f5d77c00ddabca/$(CDNOW_WHEEL)
CDNOW_WHEEL_SHA256 := 261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8
EXAMPLE := data/examples/cdnow
DATABANK := $(CURDIR)/$(BIN)/databank

example: setup
	@mkdir -p $(EXAMPLE)/download $(EXAMPLE)/sources $(EXAMPLE)/keys
	@test -f $(EXAMPLE)/download/$(CDNOW_WHEEL) || $(BIN)/python -c 'import sys, urllib.request; \
	  urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' $(CDNOW_WHEEL_URL) $(EXAMPLE)/download/$(CDNOW_WHEEL)
	@echo "$(CDNOW_WHEEL_SHA256)  $(EXAMPLE)/download/$(CDNOW_WHEEL)" | sha256sum --check --quiet || { \
	  echo "$(CDNOW_WHEEL) is not the file PyPI published: remove $(EXAMPLE)/download and try again."; exit 1; }
	$(BIN)/python -m zipfile -e $(EXAMPLE)/download/$(CDNOW_WHEEL) $(EXAMPLE)/download/wheel
	cp $(EXAMPLE)/download/wheel/lifetimes/datasets/CDNOW_master.txt $(EXAMPLE)/
	cp docs/examples/cdnow/databank.toml $(EXAMPLE)/
	cp docs/examples/sources/cdnow.yaml $(EXAMPLE)/sources/
	@cd $(EXAMPLE)/keys && for key in hmac vault; do test -s $$key.key || \
	  (umask 077 && $(CURDIR)/$(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > $$key.key); done
	rm -rf $(EXAMPLE)/data
	for feed in brands products; do mkdir -p $(EXAMPLE)/data/landing/$$feed/dt=1997-01-01 && \
	  cp docs/examples/cdnow/reference/$${feed}_19970101.csv $(EXAMPLE)/data/landing/$$feed/dt=1997-01-01/; done
	cd $(EXAMPLE) && $(DATABANK) sources check CDNOW_master.txt
	cd $(EXAMPLE) && $(DATABANK) sources land CDNOW_master.txt --source cdnow
	cd $(EXAMPLE) && $(DATABANK) load-history --start 1997-01-01 --end 1998-06-30
	$(BIN)/python -c 'import duckdb, sys; warehouse = duckdb.connect(sys.argv[1], read_only=True); \
	  [warehouse.sql(query).show() for query in open(sys.argv[2]).read().split(";") if query.strip()]' \
	  $(EXAMPLE)/data/warehouse/databank.duckdb docs/examples/cdnow/look.sql

# The AIPL dashboard over the published warehouse, read-only, on http://127.0.0.1:8501; Ctrl-C stops it.
dashboard: setup
	$(BIN)/databank dashboard --port $(or $(PORT),8501)

# Airflow's UI on 127.0.0.1 (port: make airflow PORT=8081) with the nightly DAG; Ctrl-C stops it.
airflow: setup
	$(BIN)/databank airflow --port $(or $(PORT),8080)

# A Spark standalone master and two workers on 127.0.0.1 for the cluster profile; Ctrl-C stops them.
cluster: setup
	$(BIN)/python -m databank.local_cluster

# sqlfluff runs from dbt_project/, the only place it takes the dbt templater from; the templater
# opens the local target's DuckDB file, which for a lint is an in-memory one, not a build file.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && DATABANK_DBT_DUCKDB_PATH=:memory: ../$(BIN)/sqlfluff lint .

# The suite without the tests marked slow (pyproject.toml says which), and those alone; CI runs both.
# pytest exits 5 when it collects nothing; say so instead of failing for the wrong reason.
test: setup lint browser
	@$(BIN)/python -m pytest -m "not slow"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

test-slow: setup browser
	@$(BIN)/python -m pytest -m slow; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# Every benchmark runs and prints its figures; the target fails if any missed its goal.
bench: setup
	@status=0; \
	  $(BIN)/python -m benchmarks.generator --tier medium || status=1; \
	  $(BIN)/python -m benchmarks.night || status=1; \
	  $(BIN)/python -m benchmarks.ingest --tier medium || status=1; \
	  $(BIN)/python -m benchmarks.identity --tier medium || status=1; \
	  $(BIN)/python -m benchmarks.marts --tier medium || status=1; \
	  $(BIN)/python -m benchmarks.tier_night --tier medium || status=1; \
	  $(BIN)/python -m benchmarks.tier_night --tier large --last-night-only || status=1; \
	  $(BIN)/python -m benchmarks.erasure --tier medium || status=1; \
	  $(BIN)/python -m benchmarks.history --tier medium || status=1; \
	  $(BIN)/python -m benchmarks.profiles || status=1; \
	  exit $$status
