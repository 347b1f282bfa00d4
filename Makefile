# python-s2i: build, test, images, benchmarks.  `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TARGET   ?= x86_64-unknown-linux-gnu
BIN_DIR  := build/bin
BINARIES := assemble run save-artifacts usage write-sbom
PYTHON   ?= 3.11
# Static executables without downloading another toolchain (static-pie, glibc).
CARGO_STATIC := RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target $(TARGET)
TESTS := cargo test --locked -p python-s2i-tests --test
# Builder images (docs/images.md). podman reads the project's own settings (runc, ulimits).
export CONTAINERS_CONF ?= $(CURDIR)/images/containers.conf
# A PEM bundle trusted for HTTPS while building images and apps (TLS-inspecting proxies);
# the host's system bundle by default, CA_BUNDLE= for none.
CA_BUNDLE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
export CA_BUNDLE
IMAGE_VERSIONS := 2.7 3.9 3.11 3.13 3.14 3.15

.PHONY: all help deps lint test test-unit test-init test-run test-migrate test-assemble test-layouts test-faults test-apps test-e2e test-supply test-e2e-all test-e2e-others \
        image runtime-image images demo bench bench-init bench-serve bench-build bench-serving bench-images clean

all: $(addprefix $(BIN_DIR)/,$(BINARIES)) ## the static executables in build/bin/

$(BIN_DIR)/%: FORCE
	@mkdir -p $(BIN_DIR)
	$(CARGO_STATIC) -p python-s2i --bin $*
	@install -m 0755 target/$(TARGET)/release/$* $@

FORCE:

help: ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

deps: ## install what building and testing need (Debian packages, test virtualenvs); idempotent
	@for script in test/setup/[0-9]*.sh; do echo "== $$script"; bash "$$script"; done

lint: ## rustfmt and clippy (warnings are errors); docs/benchmarks.md is what its generator writes from results that match their raw data, with stale sections marked
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	bash test/bench/all.sh --check

test: deps all lint test-unit test-init test-run test-migrate test-assemble test-layouts test-faults test-apps test-e2e test-supply ## every suite, end-to-end on 3.11 (CI runs this, then test-e2e-others)
	@echo "make test: all suites passed"

test-unit: ## unit tests of the library crates
	cargo test --locked --workspace --exclude python-s2i-tests
	cargo test --locked -p python-s2i-tests --lib
	$(TESTS) smoke

test-init: all ## run as PID 1 and not: signals, reaping, exit codes
	$(TESTS) init -- --test-threads=2

test-run: all ## run's detection and every server, in host mode
	$(TESTS) run -- --test-threads=2

test-migrate: all ## Django migrate with three replicas, run --release, the probes; real PostgreSQL and SQLite
	bash test/setup/55-pgbouncer.sh
	$(TESTS) migrate -- --test-threads=2

test-assemble: all ## assemble, save-artifacts and usage, in host mode
	$(TESTS) assemble -- --test-threads=2

test-layouts: all ## FastAPI/Flask layouts, the Python version check, dependency groups, npm assets, in host mode
	bash test/setup/40-assemble.sh >/dev/null
	$(TESTS) layouts -- --test-threads=2

test-faults: all ## issue 9: hooks, interrupted builds, full disk, artifacts, stops during hooks (as root)
	$(TESTS) faults -- --test-threads=2

test-apps: all ## today's apps in host mode: a Celery worker from the Procfile (run worker) against Debian's Redis, as an arbitrary UID (as root)
	bash test/setup/60-redis.sh
	$(TESTS) apps -- --test-threads=2

test-e2e: all ## build the 3.11 image, build fixture apps the s2i way, run them as an arbitrary UID; the sclorg compatibility suite; the three build paths with the real s2i CLI
	bash test/setup/20-podman.sh
	images/build 3.11
	images/build 3.11 runtime
	E2E_PYTHON=3.11 $(TESTS) e2e -- --test-threads=2
	E2E_PYTHON=3.11 $(TESTS) compat -- --test-threads=2
	bash test/setup/60-supply.sh >/dev/null
	E2E_PYTHON=3.11 $(TESTS) paths -- --test-threads=2

test-supply: all ## issue 27: private-index credentials kept out of the image (real s2i CLI, pypiserver behind basic auth), the SBOM validated (after test-e2e: its 3.11 image)
	bash test/setup/60-supply.sh >/dev/null
	E2E_PYTHON=3.11 $(TESTS) supply -- --test-threads=2

# Tests that do not apply to a Python version are left out by name on it, in both targets
# below; run there anyway, such a test fails under CI=true (test/src/podman.rs,
# not_on_this_python). E2E_MAIN_ONLY: checked on 3.11 only (the heavy framework apps, within
# the CI budget; run's directories on a read-only root, which do not depend on the version).
E2E_MAIN_ONLY := --skip read_only_root_with_a_writable_tmp --skip streamlit_first_app --skip gradio_first_app
E2E_NOT_ON_2.7 := $(E2E_MAIN_ONLY) --skip asgi_app_is_served_by_an_asgi_server \
  --skip fastapi_main_py_is_served_by_uvicorn --skip flask_main_py_is_served_by_mod_wsgi \
  --skip flask_src_layout_factory --skip npm_built_assets_are_served
E2E_NOT_ON_3.9 := $(E2E_MAIN_ONLY) --skip npm_built_assets_are_served
E2E_NOT_ON_3.13 := $(E2E_MAIN_ONLY)
E2E_NOT_ON_3.14 := $(E2E_MAIN_ONLY)
E2E_NOT_ON_3.15 := $(E2E_MAIN_ONLY)
COMPAT_NOT_ON_2.7 := --skip enable_pipenv_installs_pinned_pipenv --skip lock_file_index_is_used \
  --skip poetry_src_layout --skip s2i_as_dockerfile_output_built_by_podman
COMPAT_NOT_ON_3.15 := --skip enable_pipenv_installs_pinned_pipenv

# The three container suites on Python $(1), with what does not apply to it and $(2) (e2e) and
# $(3) (compat) left out.
e2e_on = echo "== Python $(1)" && images/build $(1) && images/build $(1) runtime \
  && E2E_PYTHON=$(1) $(TESTS) e2e -- --test-threads=2 $(E2E_NOT_ON_$(1)) $(2) \
  && E2E_PYTHON=$(1) $(TESTS) compat -- --test-threads=2 $(COMPAT_NOT_ON_$(1)) $(3) \
  && E2E_PYTHON=$(1) $(TESTS) paths -- --test-threads=2 || exit 1;

test-e2e-all: all ## the end-to-end tests for every Python version (2.7 3.9 3.11 3.13 3.14 3.15)
	bash test/setup/20-podman.sh
	@$(foreach v,$(IMAGE_VERSIONS),$(call e2e_on,$(v)))

# What does not depend on the Python version is tested once, on 3.11 (test-e2e); test-e2e-others
# leaves these out on the other versions (test-e2e-all runs them on every version they apply to).
E2E_ONCE := --skip app_sh_starts_the_applications_own_server --skip failing_build_fails_with_its_message \
  --skip missing_library_headers_are_named --skip build_driver_rejects_bad_usage \
  --skip flask_src_layout_factory --skip npm_built_assets_are_served
COMPAT_ONCE := --skip pipenv_and_micropipenv_together_fail_the_build --skip app_sh_builds_its_frontend_with_npm \
  --skip plain_dockerfile_running_the_s2i_scripts --skip s2i_as_dockerfile_output_built_by_podman

test-e2e-others: all ## the end-to-end tests for the versions test-e2e does not cover (2.7 3.9 3.13 3.14 3.15)
	bash test/setup/20-podman.sh
	@$(foreach v,$(filter-out 3.11,$(IMAGE_VERSIONS)),$(call e2e_on,$(v),$(E2E_ONCE),$(COMPAT_ONCE)))

image: all ## the builder image localhost/python-s2i:$(PYTHON) (PYTHON=2.7|3.9|3.11|3.13|3.14|3.15)
	images/build $(PYTHON)

runtime-image: all ## the runtime image localhost/python-s2i:$(PYTHON)-runtime (no compilers; see docs/images.md)
	images/build $(PYTHON) runtime

images: all ## the builder images of every Python version
	@for v in $(IMAGE_VERSIONS); do images/build $$v || exit 1; done

demo: ## fresh machine: podman, the 3.11 builder, the example Django app built the s2i way, running
	bash test/setup/20-podman.sh
	$(MAKE) --no-print-directory all
	images/build 3.11
	images/demo

bench-images: all ## image sizes, clean vs incremental s2i build, container start to first 200 (its section of docs/benchmarks.md)
	bash test/setup/20-podman.sh
	bash test/bench/all.sh images

bench-init: all ## run as an init vs tini, tini-static, no init: wall time, peak RSS, sizes (its section of docs/benchmarks.md)
	bash test/bench/all.sh init

bench-serve: all ## run's start-up overhead per server and requests/s of its tuning vs the peers' defaults (its section)
	bash test/bench/all.sh startup

bench-build: all ## build benchmark: pip baseline vs clean and incremental assemble, permission fix vs sclorg's fix-permissions (median and range of BENCH_SAMPLES)
	bash test/setup/40-assemble.sh >/dev/null
	bash test/bench/all.sh build

bench-serving: all ## Django io/cpu/static at several concurrencies: python-s2i vs sclorg's commands vs mod_wsgi-express defaults
	bash test/bench/all.sh serving

bench: deps all ## every benchmark against its baseline; writes docs/benchmarks.md whole from this one run
	bash test/bench/all.sh

clean: ## remove build outputs
	cargo clean
	rm -rf build
