# minihlt - plain Makefile, out-of-tree build into $(BUILD).
#
#   make run        install missing packages, build, run the default menu on the sample
#   make test       install missing packages, build, run unit and end-to-end tests
#   make all        build library, program, plugins and tests
#   make sanitize   ASan+UBSan build in build/asan and run all the tests there
#   make tsan       TSan build in build/tsan and run the scheduler tests there
#   make load       the long load test of minihlt serve (64 clients, 60 s)
#   make bench      run every benchmark under scripts/bench/
#   make deps       install the Debian packages minihlt needs (as root)
#   make clean
#
# Sources are found by wildcard: a new file in sim/<folder>/ joins the
# library, a new plugins/<name>/ folder becomes build/plugins/<name>.so, and a
# new tests/<folder>/test_*.c becomes a test program.

BUILD ?= build
SAN ?=
OPT ?= -O2

CC ?= cc
CXX ?= g++

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wvla -Wpointer-arith -Wformat=2 -Wundef
CPPFLAGS_ALL := -Isim -D_GNU_SOURCE -MMD -MP
CFLAGS_ALL := -std=c11 $(OPT) -g -fPIC -pthread $(WARN) $(SAN) $(CFLAGS)
CXXFLAGS_ALL := -std=c++17 $(OPT) -g -fPIC -pthread -Wall -Wextra -Werror $(SAN) $(CXXFLAGS)
LDFLAGS_ALL := -pthread $(SAN) $(LDFLAGS)

LIBS := -ltbb -lzstd -luuid -lOpenCL -lfyaml -ljansson -lcurl -lmicrohttpd -ldl -lm
CHECK_LIBS := -lcheck -lsubunit -lrt -lm

LIB_C_SRCS := $(filter-out sim/cli/%,$(wildcard sim/*/*.c))
LIB_CXX_SRCS := $(wildcard sim/*/*.cpp)
CLI_SRCS := $(wildcard sim/cli/*.c)
PLUGIN_DIRS := $(patsubst %/,%,$(wildcard plugins/*/))
PLUGIN_NAMES := $(notdir $(PLUGIN_DIRS))
TEST_SRCS := $(wildcard tests/*/test_*.c)
TEST_COMMON_SRCS := $(wildcard tests/common/*.c)
TEST_PLUGIN_DIRS := $(patsubst %/,%,$(wildcard tests/plugins/*/))

# OpenCL kernels are embedded into the library as C strings.
CL_SRCS := $(wildcard sim/ocl/kernels/*.cl)
CL_GEN := $(patsubst sim/ocl/kernels/%.cl,$(BUILD)/gen/kernel_%.c,$(CL_SRCS))

LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_C_SRCS)) \
            $(patsubst %.cpp,$(BUILD)/obj/%.o,$(LIB_CXX_SRCS)) \
            $(patsubst %.c,%.o,$(CL_GEN))
CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
TEST_COMMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_COMMON_SRCS))

LIBMH := $(BUILD)/lib/libminihlt.so
BIN := $(BUILD)/bin/minihlt
PLUGINS := $(patsubst %,$(BUILD)/plugins/%.so,$(PLUGIN_NAMES))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_PLUGINS := $(patsubst tests/plugins/%,$(BUILD)/tests/plugins/%.so,$(TEST_PLUGIN_DIRS))

SAMPLE := $(BUILD)/samples/default.mhe
DEFAULT_MENU := configs/hlt.yaml

.SECONDARY:

.PHONY: all lib bin plugins tests deps run test test-unit test-e2e sanitize tsan load bench clean sample

all: lib bin plugins tests

lib: $(LIBMH)
bin: $(BIN)
plugins: $(PLUGINS)
tests: $(TEST_BINS) $(TEST_PLUGINS)

$(LIBMH): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CXX) -shared -o $@ $^ $(LDFLAGS_ALL) $(LIBS)

$(BIN): $(CLI_OBJS) $(LIBMH)
	@mkdir -p $(@D)
	$(CC) -o $@ $(CLI_OBJS) $(LDFLAGS_ALL) -L$(BUILD)/lib -lminihlt -Wl,-rpath,'$$ORIGIN/../lib' $(LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) -c -o $@ $<

$(BUILD)/gen/kernel_%.c: sim/ocl/kernels/%.cl scripts/embed_cl.sh
	@mkdir -p $(@D)
	sh scripts/embed_cl.sh $< $* > $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

# Plugins: every .c in plugins/<name>/ into one shared object, hidden
# visibility so that only the entry symbol is exported. (No % inside the
# second expansion: make would replace it with the stem too.)
.SECONDEXPANSION:
$(BUILD)/plugins/%.so: $$(foreach f,$$(wildcard plugins/$$*/*.c),$(BUILD)/obj/$$(basename $$f).o) $(LIBMH)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(filter %.o,$^) $(LDFLAGS_ALL) -L$(BUILD)/lib -lminihlt -Wl,-rpath,'$$ORIGIN/../lib' $(LIBS)

$(BUILD)/tests/plugins/%.so: $$(foreach f,$$(wildcard tests/plugins/$$*/*.c),$(BUILD)/obj/$$(basename $$f).o) $(LIBMH)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(filter %.o,$^) $(LDFLAGS_ALL) -L$(BUILD)/lib -lminihlt -Wl,-rpath,'$$ORIGIN/../../lib' $(LIBS)

$(BUILD)/obj/plugins/%.o: plugins/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fvisibility=hidden -c -o $@ $<

$(BUILD)/obj/tests/plugins/%.o: tests/plugins/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fvisibility=hidden -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_COMMON_OBJS) $(LIBMH)
	@mkdir -p $(@D)
	$(CC) -o $@ $< $(TEST_COMMON_OBJS) $(LDFLAGS_ALL) -L$(BUILD)/lib -lminihlt -Wl,-rpath,'$(abspath $(BUILD))/lib' $(LIBS) $(CHECK_LIBS)

deps:
	@sh scripts/deps.sh

$(SAMPLE): $(BIN)
	@mkdir -p $(@D)
	$(BIN) gen -n 300 --pileup 60 --process ttbar --seed 1 -o $@

sample: $(SAMPLE)

# The quick start: everything a fresh Debian machine needs, then the default
# menu on the default sample.
run:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory sample
	@sh scripts/run_default.sh $(BUILD)

# The README's test command (and CI's): unit + end-to-end tests, then the
# whole suite again under ASan+UBSan, then the threaded tests under TSan.
test:
	@sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@echo "== make test: unit and end-to-end tests ($(BUILD))"
	@sh scripts/run_tests.sh $(BUILD)
	@echo "== make test: unit and end-to-end tests under ASan+UBSan (build/asan)"
	@$(MAKE) --no-print-directory sanitize
	@echo "== make test: threaded tests under TSan (build/tsan)"
	@$(MAKE) --no-print-directory tsan

test-unit: all
	@sh scripts/run_tests.sh $(BUILD) unit

test-e2e: all
	@sh scripts/run_tests.sh $(BUILD) e2e

# The whole suite under ASan+UBSan: the unit tests and every tests/e2e/*.sh on
# build/asan's program and plugins (~2 min on 2 cores; nothing is left out for
# time). valgrind.sh skips itself there; onnx.sh and bench_hcal.sh preload the
# ASan runtime for the Python that loads libminihlt.so (tests/e2e/lib.sh).
sanitize:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" all
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  sh scripts/run_tests.sh build/asan all

tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT=-O1 SAN="-fsanitize=thread" all
	@TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  sh scripts/run_tests.sh build/tsan tsan

# Issue 8's figure (64 clients for 60 s, 10% bad requests); not in `make test`,
# whose tests/e2e/load.sh runs 8 clients for 5 s.
load: all
	@python3 scripts/load/load.py --start $(BIN) --clients 64 --duration 60 --check

bench: all
	@sh scripts/bench/run_all.sh $(BUILD)

clean:
	rm -rf $(BUILD) build

-include $(shell find $(BUILD)/obj $(BUILD)/gen -name '*.d' 2>/dev/null)
include tests/fuzz/fuzz.mk
