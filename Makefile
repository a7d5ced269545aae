# gpu_watch — per-process NVIDIA GPU usage to CSV. C11, libc only.
SHELL   := /bin/bash
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
SANITIZE ?= 0
COVERAGE ?= 0

# The project's own flags; the user's CFLAGS/CPPFLAGS/LDFLAGS come after.
# -pthread: the NVML source's worker thread (in glibc's libc since 2.34:
# nothing more is linked).
GW_CFLAGS   := -std=c11 -Wall -Wextra -Werror -O2 -g -pthread
GW_CPPFLAGS := -Iinclude -D_GNU_SOURCE -MMD -MP
GW_LDLIBS   := -lm
B := build
ifeq ($(SANITIZE),1)
GW_CFLAGS += -O1 -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all
GW_LDFLAGS += -fsanitize=address,undefined,float-cast-overflow
B := build-san
endif
ifeq ($(COVERAGE),1)
GW_CFLAGS += -O0 --coverage
GW_LDFLAGS += --coverage
B := build-cov
endif
ALL_CFLAGS   = $(GW_CFLAGS) $(CFLAGS)
ALL_CPPFLAGS = $(GW_CPPFLAGS) $(CPPFLAGS)
ALL_LDFLAGS  = $(GW_LDFLAGS) $(LDFLAGS)

SRC      := $(wildcard src/*.c src/*/*.c)
LIB_SRC  := $(filter-out src/gpu_watch.c,$(SRC))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(B)/src/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
HELPERS  := $(B)/tests/fake-nvidia-smi/nvidia-smi
# The fake NVML library, three drivers: every symbol; no _v3 (before 535);
# no suffixed symbol at all (v1 only).
FAKE_NVML := $(B)/tests/fake-nvml/libnvidia-ml.so.1 $(B)/tests/fake-nvml-v2/libnvidia-ml.so.1 \
             $(B)/tests/fake-nvml-v1/libnvidia-ml.so.1
# Each fuzz harness built with replay_main.c instead of libFuzzer: make test
# replays the seed corpora and every regression input through it.
REPLAY_BIN := $(patsubst fuzz/fuzz_%.c,$(B)/fuzz/replay_%,$(wildcard fuzz/fuzz_*.c))

.PHONY: all test check coverage bench soak fuzz fuzz-build lint lint-cppcheck lint-clang-tidy lint-shape ci demo install uninstall clean format format-check

all: gpu_watch

gpu_watch: $(B)/gpu_watch
	@if [ "$(B)" = build ]; then cp $(B)/gpu_watch gpu_watch; fi

$(B)/gpu_watch: $(B)/src/gpu_watch.o $(B)/libgw.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(GW_LDLIBS) $(LDLIBS)

$(B)/libgw.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(B)/tests/test_%: $(B)/tests/test_%.o $(B)/libgw.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ -lcmocka $(GW_LDLIBS) $(LDLIBS)

# The fake nvidia-smi of the end-to-end tests and the benchmark, in C so that
# replaying a fixture costs a millisecond, not a shell's start-up.
$(HELPERS): tests/fake_smi.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# Without the sanitizers: a plain library loads into any build.
FAKE_NVML_FLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -Iinclude -D_GNU_SOURCE -shared -fPIC
$(B)/tests/fake-nvml/libnvidia-ml.so.1: tests/fake_nvml.c include/gpu_watch/nvml_records.h
	@mkdir -p $(@D)
	$(CC) $(FAKE_NVML_FLAGS) -o $@ $<
$(B)/tests/fake-nvml-v2/libnvidia-ml.so.1: tests/fake_nvml.c include/gpu_watch/nvml_records.h
	@mkdir -p $(@D)
	$(CC) $(FAKE_NVML_FLAGS) -DFAKE_NO_V3 -o $@ $<
$(B)/tests/fake-nvml-v1/libnvidia-ml.so.1: tests/fake_nvml.c include/gpu_watch/nvml_records.h
	@mkdir -p $(@D)
	$(CC) $(FAKE_NVML_FLAGS) -DFAKE_V1_ONLY -o $@ $<

$(B)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay_main.c $(B)/libgw.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(GW_LDLIBS) $(LDLIBS)

$(B)/bench/bench_sample: bench/bench_sample.c $(B)/libgw.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(GW_LDLIBS) $(LDLIBS)

# Performance figures: medians, spread and ratios measured in one run; the
# table is printed and written to bench/results.txt.
bench: gpu_watch $(HELPERS) $(FAKE_NVML) $(B)/bench/bench_sample
	@python3 bench/run_bench.py

test check: $(B)/gpu_watch $(TEST_BIN) $(HELPERS) $(FAKE_NVML) $(REPLAY_BIN) gpu_watch
	@GW_BUILD=$(B) tests/run_tests.sh

# Static analysis of the product and the fuzz harnesses: cppcheck (every
# category but the one suppression in .cppcheck-suppressions, with its
# reason) and clang-tidy with the check list in .clang-tidy; any finding
# fails.
LINT_SRC := $(wildcard src/*.c src/*/*.c fuzz/*.c)
lint: lint-cppcheck lint-clang-tidy lint-shape

# The shape of the code (issue 22): no function in src/ over 80 lines
# (tests/tools/func_length.py lists its exceptions), and each header
# declares only what its own .c defines, with no #include circle
# (tests/tools/header_owner.py).
lint-shape:
	python3 tests/tools/func_length.py --max 80 src/*.c src/*/*.c
	python3 tests/tools/header_owner.py include/gpu_watch src

lint-cppcheck:
	cppcheck --enable=warning,style,performance,portability --std=c11 -Iinclude -D_GNU_SOURCE \
	    --suppressions-list=.cppcheck-suppressions --error-exitcode=1 --quiet $(LINT_SRC)

lint-clang-tidy:
	clang-tidy --quiet $(LINT_SRC) -- -std=c11 -Iinclude -D_GNU_SOURCE 2>&1 | \
	    { grep -v ' warnings\? generated\.$$' || true; }; \
	    exit $${PIPESTATUS[0]}

# Everything CI checks, with one summary line at the end: the suite, the
# suite again under ASan+UBSan, static analysis, and each fuzz harness for
# CI_FUZZ_SECONDS. See tests/ci.sh.
CI_FUZZ_SECONDS ?= 10
ci:
	@CI_FUZZ_SECONDS=$(CI_FUZZ_SECONDS) tests/ci.sh

# The long soak: SOAK_SAMPLES samples at --interval 0.001 against the
# instant fake (make test runs 10,000 of them).
SOAK_SAMPLES ?= 100000
soak: $(B)/gpu_watch $(HELPERS)
	@GW_BIN=$(CURDIR)/$(B)/gpu_watch GW_FAKE_DIR=$(CURDIR)/$(B)/tests/fake-nvidia-smi \
	    python3 -m tests.e2e.test_soak $(SOAK_SAMPLES)

coverage:
	rm -rf build-cov
	$(MAKE) COVERAGE=1 test
	@tests/coverage.sh build-cov

# make demo DEMO_OUT=demo.csv: the logs are kept (DEMO_OUT and its -wrap twin).
DEMO_OUT ?= demo.csv
demo: gpu_watch $(HELPERS)
	@DEMO_OUT='$(DEMO_OUT)' tests/demo.sh

# The installed binary is stripped (the build keeps -g, for gdb and the
# tests); `make install INSTALL_STRIP=` installs it with its symbols.
INSTALL_STRIP ?= -s
install: gpu_watch
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(INSTALL_STRIP) gpu_watch $(DESTDIR)$(BINDIR)/gpu_watch
	if [ -f gpu_watch.1 ]; then install -m 644 gpu_watch.1 $(DESTDIR)$(MANDIR)/man1/gpu_watch.1; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gpu_watch $(DESTDIR)$(MANDIR)/man1/gpu_watch.1

clean:
	rm -rf build build-san build-cov build-fuzz build-fuzz-ci gpu_watch coverage

format:
	clang-format -i src/*.c src/*/*.c include/gpu_watch/*.h tests/*.c bench/*.c fuzz/*.c

format-check:
	clang-format --dry-run -Werror src/*.c src/*/*.c include/gpu_watch/*.h tests/*.c bench/*.c fuzz/*.c

# Fuzzing (clang + libFuzzer): every fuzz/fuzz_NAME.c is a harness, linked
# against the library built with the fuzzer's instrumentation in build-fuzz.
# `make fuzz` runs each in turn for FUZZ_SECONDS, at low priority, one worker,
# on a corpus seeded from the fixtures (fuzz/seeds.sh); crashes land in
# build-fuzz/artifacts and the log of each run in build-fuzz/logs.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ         ?= $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FZ           := build-fuzz
FUZZ_FLAGS   := -std=c11 -O1 -g -Iinclude -D_GNU_SOURCE -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJ := $(LIB_SRC:src/%.c=$(FZ)/src/%.o)

$(FZ)/src/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FZ)/libgw.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FZ)/fuzz_%: fuzz/fuzz_%.c $(FZ)/libgw.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(GW_LDLIBS)

fuzz-build: $(FUZZ:%=$(FZ)/fuzz_%)

fuzz: fuzz-build
	@mkdir -p $(FZ)/logs $(FZ)/artifacts
	@bad=; for n in $(FUZZ); do \
	    fuzz/seeds.sh $$n $(FZ)/corpus/$$n || exit 1; \
	    echo "fuzz_$$n: $(FUZZ_SECONDS) s"; \
	    nice -n 19 $(FZ)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=1024 \
	        -max_len=65536 -print_final_stats=1 -artifact_prefix=$(FZ)/artifacts/$$n- \
	        $(FZ)/corpus/$$n >$(FZ)/logs/$$n.log 2>&1; rc=$$?; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FZ)/logs/$$n.log); \
	    secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $(FZ)/logs/$$n.log); \
	    res=ok; [ $$rc -eq 0 ] || res=FAILED; \
	    echo "$$(date -u +%FT%TZ) $$n runs=$${runs:-?} seconds=$${secs:-?} result=$$res" | tee -a $(FZ)/logs/summary.txt; \
	    if [ $$rc -ne 0 ]; then grep -E 'ERROR|SUMMARY|Assertion|runtime error|Test unit written' $(FZ)/logs/$$n.log; \
	        cp $(FZ)/logs/$$n.log $(FZ)/logs/$$n.$$(date +%s).failed.log; bad="$$bad $$n"; fi; \
	done; if [ -n "$$bad" ]; then echo "fuzz FAILED:$$bad (see $(FZ)/logs)"; exit 1; fi

-include $(wildcard $(B)/src/*.d $(B)/src/*/*.d $(B)/tests/*.d $(FZ)/src/*.d $(FZ)/src/*/*.d)
