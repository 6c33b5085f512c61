# phoneverify — build, run and test.
#
#   make            build everything into build/ (binaries in build/bin/)
#   make run        install missing packages, build, run the whole stack in the foreground
#   make test       the same set-up, then unit (plain + ASan/UBSan) and integration tests
#   make cluster    (root) the several-hosts topology on this machine: three Galera nodes and
#                   two application hosts in network namespaces, nginx in front (src/ops/cluster.sh)
#   make bench      the stack against its floor under wrk (src/ops/bench.sh); prints a table
#   make bench-cluster  (root) send/verify latency through nginx on make cluster's topology
#                   (src/ops/bench-cluster.sh); skipped while another cluster is up
#   make deps       only check/install the Debian packages
#   make asan       build-asan/bin/unit_tests (AddressSanitizer + UBSan)
#   make install    binaries, sql/, www/, config, systemd units, logrotate under $(DESTDIR)
#                   (PREFIX=/usr/local; see src/ops/install.sh and README "Production install")
#   make fuzz       libFuzzer targets (clang) from tests/fuzz/, each run FUZZ_SECONDS (30)
#   make clean      remove build/ and build-asan/ (var/ is kept: it holds your data)
#
# V=1 shows full commands. Objects are rebuilt when their headers or the flags change.

BUILD   ?= build
VARIANT ?= release
Q        = $(if $(filter 1,$(V)),,@)
say      = $(if $(filter 1,$(V)),,@printf '  %-5s %s\n' $(1) $(2);)

CXX      ?= g++
PKGS     := jsoncpp libcurl libsodium mysqlclient
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT_release := -O2 -g
OPT_asan    := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDOPT_asan  := -fsanitize=address,undefined
OPT_fuzz    := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDOPT_fuzz  := -fsanitize=fuzzer,address,undefined
FUZZ_SECONDS ?= 30

CPPFLAGS_ALL := -Isrc -Itests $(PKG_CFLAGS) -DBOOST_TEST_DYN_LINK
CXXFLAGS_ALL := -std=c++20 -Wall -Wextra -Werror $(OPT_$(VARIANT)) $(CXXFLAGS)
LDFLAGS_ALL  := $(LDOPT_$(VARIANT)) $(LDFLAGS)
LIBS         := $(PKG_LIBS) -lfcgi -lmstch -lboost_program_options -lpthread
TEST_LIBS    := -lboost_unit_test_framework

# --- sources ------------------------------------------------------------------------
MAINS        := src/main.cpp src/dispatcher_main.cpp src/admin_main.cpp
LIB_SRCS     := $(filter-out $(MAINS),$(sort $(shell find src -name '*.cpp')))
FAKE_MAIN    := tests/fakes/fake_sparrow_main.cpp
FAKE_SRCS    := $(filter-out $(FAKE_MAIN),$(sort $(wildcard tests/fakes/*.cpp)))
UNIT_SRCS    := $(sort $(wildcard tests/unit/*.cpp))
INTEG_SRCS   := $(sort $(wildcard tests/integration/*.cpp))
CLUSTER_SRCS := $(sort $(wildcard tests/cluster/*.cpp))
# The cluster tests' HTTP client is the integration tests' own.
CLUSTER_HTTP := tests/integration/http_client.cpp tests/integration/curl_exchange.cpp
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/*_fuzz.cpp))
BENCH_SRCS   := $(sort $(wildcard tests/bench/*.cpp))

obj = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(1))

LIB       := $(BUILD)/libphoneverify.a
FAKES_LIB := $(BUILD)/libfakes.a
BIN       := $(BUILD)/bin
PROGRAMS  := $(if $(wildcard src/main.cpp),$(BIN)/phoneverify-fcgi) \
             $(if $(wildcard src/dispatcher_main.cpp),$(BIN)/phoneverify-dispatcher) \
             $(BIN)/phoneverify-admin \
             $(BIN)/unit_tests \
             $(if $(INTEG_SRCS),$(BIN)/integration_tests) \
             $(if $(CLUSTER_SRCS),$(BIN)/cluster_tests) \
             $(if $(wildcard $(FAKE_MAIN)),$(BIN)/fake-sparrow)

ALL_OBJS := $(call obj,$(LIB_SRCS) $(MAINS) $(FAKE_SRCS) $(FAKE_MAIN) $(UNIT_SRCS) $(INTEG_SRCS) \
                      $(CLUSTER_SRCS) \
                      $(FUZZ_SRCS) $(BENCH_SRCS))

.PHONY: all asan run cluster test bench bench-cluster deps install clean fuzz fuzz-targets FORCE
.DEFAULT_GOAL := all

all: $(PROGRAMS)

# --- the flags stamp: objects depend on it, it changes only when the flags do ---------
FLAGS_TEXT := $(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) | $(LDFLAGS_ALL) $(LIBS)
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_TEXT)' ]; then echo '$(FLAGS_TEXT)' > $@; fi

$(BUILD)/obj/%.o: %.cpp $(BUILD)/.flags
	@mkdir -p $(@D)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB): $(call obj,$(LIB_SRCS))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FAKES_LIB): $(call obj,$(FAKE_SRCS))
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

link = $(call say,LINK,$@) mkdir -p $(@D) && \
       $(CXX) $(CXXFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(1) $(LIBS)

$(BIN)/phoneverify-fcgi: $(call obj,src/main.cpp) $(LIB)
	$(Q)$(call link,$^)

$(BIN)/phoneverify-dispatcher: $(call obj,src/dispatcher_main.cpp) $(LIB)
	$(Q)$(call link,$^)

$(BIN)/phoneverify-admin: $(call obj,src/admin_main.cpp) $(LIB)
	$(Q)$(call link,$^)

$(BIN)/unit_tests: $(call obj,$(UNIT_SRCS)) $(FAKES_LIB) $(LIB)
	$(Q)$(call link,$^ $(TEST_LIBS))

$(BIN)/integration_tests: $(call obj,$(INTEG_SRCS)) $(FAKES_LIB) $(LIB)
	$(Q)$(call link,$^ $(TEST_LIBS))

$(BIN)/cluster_tests: $(call obj,$(CLUSTER_SRCS) $(CLUSTER_HTTP)) $(FAKES_LIB) $(LIB)
	$(Q)$(call link,$^ $(TEST_LIBS))

$(BIN)/fake-sparrow: $(call obj,$(FAKE_MAIN)) $(FAKES_LIB) $(LIB)
	$(Q)$(call link,$^)

fuzz-targets: $(patsubst tests/fuzz/%.cpp,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LIB)
	$(Q)$(call link,$^)

# The benchmark's floor responder (tests/bench/floor_fcgi.cpp): libfcgi + libmysqlclient only.
$(BIN)/bench-floor-fcgi: $(call obj,tests/bench/floor_fcgi.cpp)
	$(Q)$(call link,$^)

-include $(ALL_OBJS:.o=.d)

# --- variants and commands ----------------------------------------------------------
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan VARIANT=asan build-asan/bin/unit_tests

deps:
	@src/ops/deps.sh

# Not part of `make test` (minutes of CPU); a crash it finds becomes a unit test.
fuzz:
	@$(MAKE) --no-print-directory -j2 BUILD=build-fuzz VARIANT=fuzz CXX=clang++ fuzz-targets
	@src/ops/fuzz.sh $(FUZZ_SECONDS)

# The machine is shared: never more than two compiler jobs.
run:
	@src/ops/deps.sh
	@$(MAKE) --no-print-directory -j2 all
	@exec src/ops/stack.sh run

cluster:
	@src/ops/deps.sh
	@$(MAKE) --no-print-directory -j2 all
	@exec src/ops/cluster.sh run

test:
	@src/ops/deps.sh
	@$(MAKE) --no-print-directory -j2 all
	@$(MAKE) --no-print-directory -j2 asan
	@exec src/ops/test.sh

bench:
	@src/ops/deps.sh
	@$(MAKE) --no-print-directory -j2 all $(BIN)/bench-floor-fcgi
	@exec src/ops/bench.sh

bench-cluster:
	@src/ops/deps.sh
	@$(MAKE) --no-print-directory -j2 all
	@exec src/ops/bench-cluster.sh

# --- install ------------------------------------------------------------------------
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
DATADIR     ?= $(PREFIX)/share/phoneverify
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
WEB_GROUP   ?= www-data

install: $(BIN)/phoneverify-fcgi $(BIN)/phoneverify-dispatcher $(BIN)/phoneverify-admin
	@DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' BINDIR='$(BINDIR)' SBINDIR='$(SBINDIR)' \
	  DATADIR='$(DATADIR)' SYSCONFDIR='$(SYSCONFDIR)' UNITDIR='$(UNITDIR)' \
	  SYSUSERSDIR='$(SYSUSERSDIR)' WEB_GROUP='$(WEB_GROUP)' BUILD_BIN='$(BIN)' \
	  src/ops/install.sh

clean:
	rm -rf build build-asan build-fuzz
