# litelab: host library, CUDA kernels, the `litelab` CLI, CUnit tests.
#   make            build everything (CUDA code compiles without a GPU)
#   make test       CUnit suites (CPU only), the shell tests (tests/shell), and a build of the
#                   GPU test and benchmark programs, so that they cannot rot
#   make test-asan  the CUnit suites under AddressSanitizer + UndefinedBehaviorSanitizer
#                   (C code in build-asan/; the CUDA objects of build/ linked in)
#   make CUDA=0     a build without the CUDA backend (automatic when nvcc is absent): the
#                   library, CLI, tests, report and calibrate; `bench` and --backend cuda exit 7
#   make install PREFIX=DIR   DIR/bin/litelab and DIR/share/litelab/gnuplot (default /usr/local)
#   make gpu-test   GPU tests (needs a GPU; run through the device tool)
#   make dev-kernels  earlier kernel versions as programs that check and time themselves (kernels/dev/)
#   make deps       install missing Debian packages (apt-get as root, else prints the command)
# Every target depends on `deps`, so a fresh machine needs only `make test`.
# CFLAGS, LDFLAGS and NVCCFLAGS are the user's (defaults below); the project's own flags are
# added to them, never replaced by them.

CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(CUDA_HOME)/bin/nvcc
ifeq ($(origin CUDA),undefined)
CUDA := $(if $(shell command -v $(NVCC) 2>/dev/null),1,0)
endif
CC        ?= gcc
BUILD     ?= build
PREFIX    ?= /usr/local
# Where the CUDA objects are built; test-asan points it at build/ (CUDA code is not sanitized).
CUDA_BUILD ?= $(BUILD)
ASAN_BUILD ?= build-asan

CFLAGS    ?= -O2 -g
LDFLAGS   ?=
NVCCFLAGS ?= -O3 -lineinfo

DEB_PACKAGES := libhdf5-dev hdf5-tools libcunit1-dev gnuplot-nox libcjson-dev pkg-config libpng-dev
HDF5_CFLAGS  := -I/usr/include/hdf5/serial
HDF5_LIBS    := -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5
CJSON_CFLAGS := -I/usr/include/cjson

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
VERSION    := 0.1.0

LL_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -Ilib -Itraces -Iharness -Ianalysis \
             $(HDF5_CFLAGS) $(CJSON_CFLAGS) -DLITELAB_VERSION='"$(VERSION)"'
LL_LDLIBS := -Wl,--as-needed $(HDF5_LIBS) -lcjson -lpthread -ldl -lrt -lm -fopenmp

LIB_SRC     := $(filter-out lib/without_cuda.c,$(wildcard lib/*.c)) $(wildcard traces/*.c) $(wildcard analysis/*.c)
HARNESS_SRC := $(wildcard harness/*.c)
TEST_SRC    := $(wildcard tests/*.c)
GPU_TEST_SRC := $(wildcard tests/gpu/*.c)
BENCH_PROGRAMS := $(BUILD)/bench_reference $(BUILD)/bench_calibrate $(BUILD)/bench_merge

ifeq ($(CUDA),1)
# sm_80 (portable kernel on Ampere and newer) and sm_90a (Hopper-only instructions).
CUDA_ARCH ?= -gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90a,code=sm_90a
LL_NVCCFLAGS := -std=c++17 $(CUDA_ARCH) -Xcompiler -Wall,-Wextra -Ilib -Ikernels \
                --expt-relaxed-constexpr -Xptxas -warn-spills
LL_CFLAGS += -I$(CUDA_HOME)/include
LL_LDLIBS += -L$(CUDA_HOME)/lib64 -lcudart_static -lcupti -Wl,-rpath,$(CUDA_HOME)/lib64 \
             -Wl,-rpath,$(CUDA_HOME)/extras/CUPTI/lib64 -lstdc++
CUDA_SRC  := $(wildcard kernels/*.cu) $(wildcard lib/*.cu)
GPU_PROGRAMS := $(BUILD)/gpu_test
else
# No CUDA backend: one file answers every CUDA entry point (LL_ERR_NO_GPU, "built without CUDA").
LL_CFLAGS += -DLITELAB_NO_CUDA
LIB_SRC   := $(filter-out lib/gpu_timer.c,$(LIB_SRC)) lib/without_cuda.c
CUDA_SRC  :=
GPU_PROGRAMS :=
endif

LIB_OBJ      := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CUDA_SRC:%.cu=$(CUDA_BUILD)/%.o)
HARNESS_OBJ  := $(HARNESS_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ     := $(TEST_SRC:%.c=$(BUILD)/%.o)
GPU_TEST_OBJ := $(GPU_TEST_SRC:%.c=$(BUILD)/%.o)
DEPS_STAMP   := $(BUILD)/.deps-ok
# The C flags in use; objects are rebuilt when they change (CUDA=0/1, CFLAGS, sanitizers).
FLAGS_STAMP  := $(BUILD)/.cflags

# XCFLAGS: target-specific additions (below).
COMPILE = $(CC) $(CFLAGS) $(LL_CFLAGS) $(XCFLAGS)
LINK    = $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

.PHONY: all deps test test-asan asan-suites gpu-test clean demo device-libs install
all: $(BUILD)/litelab $(BUILD)/test_litelab

deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@if [ "$(CUDA)" = 1 ]; then test -x $(NVCC) || { echo "CUDA toolkit not found at $(CUDA_HOME) (set CUDA_HOME, or build without CUDA: make CUDA=0)"; exit 1; }; fi
	@mkdir -p $(BUILD) && touch $@

.PHONY: FORCE
$(FLAGS_STAMP): FORCE $(DEPS_STAMP)
	$(file > $@.tmp,$(CC) $(CFLAGS) $(LL_CFLAGS))
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/%.o: %.c $(DEPS_STAMP) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP -c $< -o $@

$(CUDA_BUILD)/%.o: %.cu $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) $(LL_NVCCFLAGS) -MMD -MP -c $< -o $@

# The commit the build comes from, rewritten only when it changes (lib/version.c).
$(BUILD)/git_commit.h: FORCE $(DEPS_STAMP)
	@echo '#define LITELAB_GIT_COMMIT "$(GIT_COMMIT)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/lib/version.o: $(BUILD)/git_commit.h
$(BUILD)/lib/version.o: XCFLAGS += -I$(BUILD)

$(BUILD)/liblitelab.a: $(LIB_OBJ)
	ar rcs $@ $^

# SANITIZER_HOOKS: objects only a sanitizer build links in (test-asan sets it).
$(BUILD)/litelab: $(HARNESS_OBJ) $(BUILD)/liblitelab.a $(SANITIZER_HOOKS)
	$(LINK) $(LL_LDLIBS)

$(TEST_OBJ): XCFLAGS += -DLITELAB='"../$(BUILD)/litelab"'
# libpng: the figure suites decode the PNGs the report draws (tests/figure_check.c).
$(BUILD)/test_litelab: $(TEST_OBJ) $(BUILD)/liblitelab.a $(SANITIZER_HOOKS)
	$(LINK) -lcunit -lpng $(LL_LDLIBS)

$(BUILD)/gpu_test: $(GPU_TEST_OBJ) $(BUILD)/liblitelab.a
	$(LINK) $(LL_LDLIBS)

# The CUnit suites (they run the CLI too: bad-input exit codes), then the shell tests: every
# experiment script's --help, and an installed copy (make install) drawing a report. The GPU
# test and benchmark programs are built, not run: they need a GPU or an idle machine.
test: $(BUILD)/test_litelab $(BUILD)/litelab $(BENCH_PROGRAMS) $(GPU_PROGRAMS)
	cd tests && ../$(BUILD)/test_litelab
	tests/shell/experiment_scripts_help.sh
	rm -rf $(BUILD)/installed
	$(call install_to,$(BUILD)/installed)
	tests/shell/installed_report.sh $(BUILD)/installed

# AddressSanitizer + UndefinedBehaviorSanitizer over the C code and the CUnit suites (and the
# CLI they run), in $(ASAN_BUILD)/ through CFLAGS and LDFLAGS; the CUDA objects come from
# $(BUILD)/, built normally. tests/sanitizer/run_suites.sh fails on any report of any process
# (UBSan's reach its log through tests/sanitizer/ubsan_report_log.c). float-cast-overflow (a
# float out of an integer's range, NaN included, cast to it) is not part of GCC's "undefined".
SANITIZE_FLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
test-asan: $(DEPS_STAMP)
	$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CUDA_BUILD=$(BUILD) CUDA=$(CUDA) \
	  CFLAGS="-O1 -g $(SANITIZE_FLAGS)" LDFLAGS="$(LDFLAGS) $(SANITIZE_FLAGS)" \
	  SANITIZER_HOOKS=$(ASAN_BUILD)/tests/sanitizer/ubsan_report_log.o asan-suites
asan-suites: $(BUILD)/test_litelab $(BUILD)/litelab
	tests/sanitizer/run_suites.sh $(BUILD)

gpu-test: $(BUILD)/gpu_test
	$(BUILD)/gpu_test

# The README's main job: the embedded synthetic trajectory replayed under the
# dense and LiteAttention policies (CPU backend where there is no GPU).
demo: $(BUILD)/litelab
	$(BUILD)/litelab run experiments/default.json -o $(BUILD)/default_trace.h5

# What an installed litelab needs at run time: the program and the gnuplot scripts of
# `litelab report` (found at <bin>/../share/litelab/gnuplot, analysis/gnuplot.h).
GNUPLOT_SCRIPTS := $(wildcard analysis/*.gp)
define install_to
	install -d $(1)/bin $(1)/share/litelab/gnuplot
	install -m 755 $(BUILD)/litelab $(1)/bin/litelab
	install -m 644 $(GNUPLOT_SCRIPTS) $(1)/share/litelab/gnuplot/
endef
install: $(BUILD)/litelab
	$(call install_to,$(DESTDIR)$(PREFIX))

# Shared libraries the GPU machine's image lacks, carried with the build folder
# (run there with LD_LIBRARY_PATH=build/device-libs).
device-libs: all
	mkdir -p $(BUILD)/device-libs
	cp -L /usr/lib/x86_64-linux-gnu/libcjson.so.1 /usr/lib/x86_64-linux-gnu/libgomp.so.1 $(BUILD)/device-libs/

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(HARNESS_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(GPU_TEST_OBJ:.o=.d)

# Speed of the CPU reference (experiments/results/cpu_reference_speed.md);
# a program of its own, not a test. Options: build/bench_reference --help.
.PHONY: bench-reference
bench-reference: $(BUILD)/bench_reference
	$(BUILD)/bench_reference

$(BUILD)/bench_reference: $(BUILD)/experiments/bench_reference.o $(BUILD)/liblitelab.a
	$(LINK) $(LL_LDLIBS)

-include $(BUILD)/experiments/bench_reference.d

# Speed of threshold screening at Wan 720p scale (experiments/results/calibrate_speed.md);
# options: build/bench_calibrate --help (e.g. --shape wan480p --configs 200).
.PHONY: bench-calibrate
bench-calibrate: $(BUILD)/bench_calibrate
	$(BUILD)/bench_calibrate

$(BUILD)/bench_calibrate: $(BUILD)/experiments/bench_calibrate.o $(BUILD)/liblitelab.a
	$(LINK) $(LL_LDLIBS)

-include $(BUILD)/experiments/bench_calibrate.d

# Speed of `litelab merge` on 8 shards of a Wan 720p trace with masks
# (experiments/results/merge_speed.md); options: build/bench_merge --help.
.PHONY: bench-merge
bench-merge: $(BUILD)/bench_merge
	$(BUILD)/bench_merge

$(BUILD)/bench_merge: $(BUILD)/experiments/bench_merge.o $(BUILD)/liblitelab.a
	$(LINK) $(LL_LDLIBS)

-include $(BUILD)/experiments/bench_merge.d

# Kernel objects carry compressed fatbinaries (4-6x smaller binaries, so the
# GPU machine gets them in one transfer; decompressed once at module load).
$(CUDA_BUILD)/kernels/%.o: LL_NVCCFLAGS += -Xfatbin -compress-all

# Earlier kernel versions as standalone programs (kernels/dev/, llm.c's
# dev/cuda style): each checks itself against the CPU reference and times
# itself, next to the shipped kernel. Not part of `all`; they need a GPU to run.
DEV_KERNEL_SRC := $(wildcard kernels/dev/*.cu)
DEV_KERNELS    := $(DEV_KERNEL_SRC:kernels/dev/%.cu=$(BUILD)/dev/%)
.PHONY: dev-kernels
dev-kernels: $(DEV_KERNELS)

$(BUILD)/dev/%: $(BUILD)/kernels/dev/%.o $(BUILD)/liblitelab.a
	@mkdir -p $(dir $@)
	$(LINK) $(LL_LDLIBS)

-include $(DEV_KERNEL_SRC:%.cu=$(BUILD)/%.d)
