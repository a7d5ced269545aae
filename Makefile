# gpu_watch — per-process NVIDIA GPU usage to CSV. C11, libc only.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
SANITIZE ?= 0
COVERAGE ?= 0

# The project's own flags; the user's CFLAGS/CPPFLAGS/LDFLAGS come after.
GW_CFLAGS   := -std=c11 -Wall -Wextra -Werror -O2 -g
GW_CPPFLAGS := -Iinclude -D_GNU_SOURCE -MMD -MP
GW_LDLIBS   := -lm
B := build
ifeq ($(SANITIZE),1)
GW_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
GW_LDFLAGS += -fsanitize=address,undefined
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

SRC      := $(wildcard src/*.c)
LIB_SRC  := $(filter-out src/gpu_watch.c,$(SRC))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(B)/src/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
HELPERS  := $(B)/tests/fake-nvidia-smi/nvidia-smi

.PHONY: all test check coverage bench soak fuzz demo install uninstall clean format format-check

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

$(B)/bench/bench_sample: bench/bench_sample.c $(B)/libgw.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(GW_LDLIBS) $(LDLIBS)

# Performance figures: medians, spread and ratios measured in one run; the
# table is printed and written to bench/results.txt.
bench: gpu_watch $(HELPERS) $(B)/bench/bench_sample
	@python3 bench/run_bench.py

test check: $(B)/gpu_watch $(TEST_BIN) $(HELPERS) gpu_watch
	@GW_BUILD=$(B) tests/run_tests.sh

coverage:
	rm -rf build-cov
	$(MAKE) COVERAGE=1 test
	@tests/coverage.sh build-cov

demo: gpu_watch $(HELPERS)
	@tests/demo.sh

install: gpu_watch
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 gpu_watch $(DESTDIR)$(BINDIR)/gpu_watch
	if [ -f gpu_watch.1 ]; then install -m 644 gpu_watch.1 $(DESTDIR)$(MANDIR)/man1/gpu_watch.1; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gpu_watch $(DESTDIR)$(MANDIR)/man1/gpu_watch.1

clean:
	rm -rf build build-san build-cov build-fuzz gpu_watch coverage

format:
	clang-format -i src/*.c include/gpu_watch/*.h tests/*.c

format-check:
	clang-format --dry-run -Werror src/*.c include/gpu_watch/*.h tests/*.c

-include $(wildcard $(B)/src/*.d $(B)/tests/*.d)
