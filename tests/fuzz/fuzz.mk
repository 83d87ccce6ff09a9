# tests/fuzz/fuzz.mk - libFuzzer targets (included from the top Makefile).
#
#   make fuzz           build, then run each target for FUZZ_SECONDS (default 60)
#                       under nice, one after the other; new inputs go to
#                       $(BUILD)/fuzz/corpus/<target>, crashes to $(BUILD)/fuzz/artifacts/
#   make fuzz-replay    build, then run every committed input of tests/fuzz/corpus/
#                       once through its target (seconds; part of `make test`
#                       through tests/e2e/fuzz_replay.sh)
#   make fuzz-build     only build $(BUILD)/fuzz/fuzz_<name>
#   make fuzz-seeds     regenerate the generated seeds (.mhe files, clusters)
#   FUZZ=fuzz_menu      restrict fuzz/fuzz-replay to some targets
#
# A target is tests/fuzz/fuzz_<name>.c with corpus tests/fuzz/corpus/<name>/.
# The parsers it needs are compiled again with clang and
# -fsanitize=fuzzer-no-link,address,undefined (only the sources listed in
# FUZZ_LIB_SRCS: no OpenCL, TBB or plugins).

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS_FLAGS ?=
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -O1 -g -pthread $(WARN) $(FUZZ_SAN)
FUZZ_LIB_SRCS := sim/core/status.c sim/core/utf8.c $(wildcard sim/io/*.c) \
                 $(wildcard sim/config/*.c) sim/ml/facile.c sim/net/client_codec.c \
                 sim/net/protocol.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_LIBS := -lzstd -luuid -lfyaml -ljansson -lm
FUZZ_ALL := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ ?= $(FUZZ_ALL)
# Known leaks inside system libraries (each documented in the file). The
# precise suppression needs the full unwinder (slow, fine for replays);
# fuzzing runs use the fast one and a broader file, then a precise replay.
FUZZ_ENV := ASAN_OPTIONS=fast_unwind_on_malloc=0 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp
FUZZ_RUN_ENV := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan-fuzz.supp
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/%,$(FUZZ_ALL))

.PHONY: fuzz fuzz-build fuzz-replay fuzz-seeds

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ $(FUZZ_LIBS)

# Each committed input once; a crash, leak, timeout or sanitizer report fails.
fuzz-replay: $(FUZZ_BINS)
	@for t in $(FUZZ); do \
	  n=$$(ls tests/fuzz/corpus/$${t#fuzz_} | wc -l); \
	  echo "fuzz-replay: $$t: $$n inputs"; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/$$t -timeout=10 -rss_limit_mb=2048 tests/fuzz/corpus/$${t#fuzz_}/* \
	    > $(FUZZ_DIR)/$$t.replay.log 2>&1 || \
	    { tail -n 40 $(FUZZ_DIR)/$$t.replay.log; echo "fuzz-replay: $$t FAILED"; exit 1; }; \
	done

# Fuzzing proper: new corpus entries in $(FUZZ_DIR)/corpus/<name> (the
# committed corpus is read, never written), crashes in $(FUZZ_DIR)/artifacts/.
fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ); do \
	  c=$${t#fuzz_}; \
	  mkdir -p $(FUZZ_DIR)/corpus/$$c $(FUZZ_DIR)/artifacts/$$c; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_RUN_ENV) nice -n 15 $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 $(FUZZ_JOBS_FLAGS) \
	    $$(test -f tests/fuzz/$$c.dict && echo -dict=tests/fuzz/$$c.dict) \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$c/ \
	    $(FUZZ_DIR)/corpus/$$c tests/fuzz/corpus/$$c > $(FUZZ_DIR)/$$t.log 2>&1; \
	  rc=$$?; \
	  grep -E '^Done [0-9]+ runs|stat::number_of_executed_units|ERROR|SUMMARY' $(FUZZ_DIR)/$$t.log; \
	  if [ $$rc -ne 0 ]; then \
	    echo "fuzz: $$t: finding in $(FUZZ_DIR)/artifacts/$$c (log $(FUZZ_DIR)/$$t.log)"; exit 1; fi; \
	  echo "fuzz: $$t: leak check of the grown corpus (precise suppressions)"; \
	  $(FUZZ_ENV) nice -n 15 $(FUZZ_DIR)/$$t -runs=0 -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$c/ $(FUZZ_DIR)/corpus/$$c \
	    > $(FUZZ_DIR)/$$t.leakcheck.log 2>&1 || \
	    { grep -E 'ERROR|SUMMARY' $(FUZZ_DIR)/$$t.leakcheck.log; \
	      echo "fuzz: $$t: finding in $(FUZZ_DIR)/artifacts/$$c (log $(FUZZ_DIR)/$$t.leakcheck.log)"; exit 1; }; \
	done

$(FUZZ_DIR)/mkseeds: tests/fuzz/mkseeds.c $(LIBMH)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) -L$(BUILD)/lib -lminihlt \
	  -Wl,-rpath,'$(abspath $(BUILD))/lib' $(LIBS)

fuzz-seeds: $(FUZZ_DIR)/mkseeds
	$(FUZZ_DIR)/mkseeds tests/fuzz/corpus

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
