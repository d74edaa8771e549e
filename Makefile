# gwbpf - one non-recursive Makefile. `make help` lists the targets.
#
# Out-of-tree build in build/. Quiet by default; V=1 shows commands.
# SANITIZE=1 builds everything with ASan+UBSan (into build-san/).

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ifeq ($(SANITIZE),1)
B ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B ?= build
SAN_FLAGS :=
endif

CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

PKGS    := libbpf libxdp libmnl openssl yaml-0.1 jansson libcurl libnghttp2 libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
	   -Wno-missing-field-initializers -fno-strict-aliasing -pthread \
	   -Iinclude -I$(B) $(PKG_CFLAGS) $(SAN_FLAGS)
LDFLAGS += -pthread $(SAN_FLAGS)
LDLIBS  += $(PKG_LIBS) -lelf -lz -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror -Wshadow \
	      -Wno-unused-parameter -Iinclude -Ibpf/include -Ibpf -I$(B)

# ---- sources (discovered, so adding a file never needs a Makefile edit) ----
LIB_SRCS   := $(filter-out userspace/cli/main.c,$(wildcard userspace/*/*.c))
LIB_OBJS   := $(patsubst %.c,$(B)/%.o,$(LIB_SRCS))
# CRD schema tables generated from deploy/crds by tools/gen-schema.py
GEN_SCHEMA := $(B)/gen/schema.c
LIB_OBJS   += $(B)/gen/schema.o
# GatewayClass supportedFeatures: exactly what the conformance suite passed
GEN_FEATURES := $(B)/gen/features.c
LIB_OBJS   += $(B)/gen/features.o
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(B)/%.skel.h,$(BPF_SRCS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRCS))
BPFT_SRCS  := $(wildcard tests/bpf/*_test.bpf.c)
TOOL_BINS  := $(if $(wildcard tools/echo/echo.c),$(B)/gwbpf-echo) $(patsubst tools/bench/%.c,$(B)/%,$(wildcard tools/bench/*.c))
TOOL_BINS  += $(if $(wildcard tools/fakeapi/kubewatch.c),$(B)/kubewatch)

LIB := $(B)/libgwbpf.a
BIN := $(B)/gwbpf

.PHONY: all help deps test unit check clean demo bench conformance fuzz install format
BPFT_BIN   := $(if $(wildcard tests/bpf/run_bpf_tests.c),$(B)/tests/bpf/run_bpf_tests)
all: $(BIN) $(TOOL_BINS) $(UNIT_BINS) $(BPFT_BIN) ## build gwbpf, tools and tests

help: ## this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

deps: ## install every Debian package gwbpf needs (idempotent; root)
	$(Q)sh mk/deps.sh

$(B)/config.mk: mk/probe.sh
	$(call msg,PROBE,$@)
	$(Q)mkdir -p $(B) && sh mk/probe.sh > $@

-include $(B)/config.mk

# ---- BPF ----
$(B)/vmlinux.h:
	$(call msg,BTF,$@)
	$(Q)mkdir -p $(B) && $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(B)/vmlinux.h $(wildcard bpf/lib/*.h bpf/include/*.h include/gwbpf/abi/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D) && $(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp && \
		$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(B)/%.skel.h: $(B)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# ---- userspace ----
$(B)/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(GEN_SCHEMA): tools/gen-schema.py $(wildcard deploy/crds/*/*.yaml)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D) && /usr/bin/python3 tools/gen-schema.py deploy/crds $@

$(B)/gen/schema.o: $(GEN_SCHEMA) include/gwbpf/validate-t.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(GEN_FEATURES): docs/conformance/supported-features.txt mk/gen-features.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D) && sh mk/gen-features.sh $< > $@

$(B)/gen/features.o: $(GEN_FEATURES)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(B)/userspace/cli/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ECHO_OBJS  := $(patsubst %.c,$(B)/%.o,$(wildcard tools/echo/*.c))
$(B)/gwbpf-echo: $(ECHO_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the kube source test tool the tests/integration/test_kube_* scripts run
$(B)/kubewatch: $(B)/tools/fakeapi/kubewatch.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/%: $(B)/tools/bench/%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# BPF_PROG_TEST_RUN driver (tests/bpf/): links the library and the skeletons
$(B)/tests/bpf/run_bpf_tests: $(B)/tests/bpf/run_bpf_tests.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---- tests ----
# make test: every suite; independent suites run in parallel (tests/run.sh)
# deps first, then a fresh make so pkg-config sees what was just installed
# SANITIZE=1: only SAN_SUITES run (conformance, fuzz replay and e2e are long,
# and fuzz replay has its own sanitizers). Every sanitizer report of every
# process (gwbpf, echo, unit tests) goes to $(B)/san-logs/, and any report
# there fails the run even when the test that caused it passed.
SAN_SUITES ?= unit bpf integration
SAN_LOGS   := $(abspath $(B))/san-logs
ifeq ($(SANITIZE),1)
TEST_SUITES ?= $(SAN_SUITES)
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:log_path=$(SAN_LOGS)/asan:log_exe_name=1 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOGS)/ubsan:log_exe_name=1
endif
test: ## install missing deps, build, run every test suite
	$(Q)sh mk/deps.sh --quiet
	$(Q)$(MAKE) --no-print-directory all
	$(Q)rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	$(Q)B=$(B) SANITIZE=$(SANITIZE) $(SAN_ENV) sh tests/run.sh $(TEST_SUITES)$(if $(SAN_ENV),; rc=$$?; \
		if [ -n "$$(ls -A $(SAN_LOGS))" ]; then echo "sanitizer reports in $(SAN_LOGS):"; \
		grep -h -A 12 -E 'ERROR|runtime error' $(SAN_LOGS)/* | head -n 80; rc=1; fi; exit $$rc)

unit: $(UNIT_BINS) ## unit tests only
	$(Q)B=$(B) sh tests/run.sh unit

conformance: all ## Gateway API conformance, kernel path and --no-bpf
	$(Q)B=$(B) sh tests/run.sh conformance

bench: all ## benchmarks against nginx and HAProxy (ratios, same run)
	$(Q)B=$(B) sh tools/bench/run.sh

demo: ## install deps, build, run gwbpf on examples/ with echo backends
	$(Q)sh mk/deps.sh --quiet
	$(Q)$(MAKE) --no-print-directory all
	$(Q)B=$(B) sh examples/demo.sh

FUZZ_SECONDS ?= 60
fuzz: ## run every libFuzzer target for FUZZ_SECONDS each
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

check: ## static analysis (clang --analyze) and house rules
	$(Q)sh mk/check-types.sh $(LIB_SRCS) include/gwbpf/*.h
	$(Q)for f in $(LIB_SRCS); do $(CLANG) --analyze -Xanalyzer -analyzer-output=text \
		$(filter-out -pthread,$(CFLAGS)) -I$(B) $$f -o /dev/null || exit 1; done

format: ## clang-format every C file
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

install: $(BIN) ## install to $(DESTDIR)/usr/local/bin
	install -D -m 0755 $(BIN) $(DESTDIR)/usr/local/bin/gwbpf

clean: ## remove build outputs
	rm -rf build build-san
