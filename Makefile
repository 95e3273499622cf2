# litelab: host library, CUDA kernels, the `litelab` CLI, CUnit tests.
#   make            build everything (CUDA code compiles without a GPU)
#   make test       CUnit suites (CPU only)
#   make gpu-test   GPU tests (needs a GPU; run through the device tool)
#   make dev-kernels  earlier kernel versions as programs that check and time themselves (kernels/dev/)
#   make deps       install missing Debian packages (apt-get as root, else prints the command)
# Every target depends on `deps`, so a fresh machine needs only `make test`.

CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(CUDA_HOME)/bin/nvcc
CC        ?= gcc
BUILD     ?= build

DEB_PACKAGES := libhdf5-dev hdf5-tools libcunit1-dev gnuplot-nox libcjson-dev pkg-config
HDF5_CFLAGS  := -I/usr/include/hdf5/serial
HDF5_LIBS    := -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5
CJSON_CFLAGS := -I/usr/include/cjson

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
VERSION    := 0.1.0

INCLUDES := -Ilib -Itraces -Iharness -Ianalysis -I$(CUDA_HOME)/include $(HDF5_CFLAGS) $(CJSON_CFLAGS)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp $(INCLUDES) -DLITELAB_VERSION='"$(VERSION)"'
# sm_80 (portable kernel on Ampere and newer) and sm_90a (Hopper-only instructions).
CUDA_ARCH  ?= -gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90a,code=sm_90a
NVCCFLAGS  ?= -O3 -lineinfo
NVCCFLAGS  += -std=c++17 $(CUDA_ARCH) -Xcompiler -Wall,-Wextra -Ilib -Ikernels \
              --expt-relaxed-constexpr -Xptxas -warn-spills
LDLIBS   := -Wl,--as-needed $(HDF5_LIBS) -lcjson -L$(CUDA_HOME)/lib64 -lcudart_static -lcupti \
            -Wl,-rpath,$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/extras/CUPTI/lib64 \
            -lstdc++ -lpthread -ldl -lrt -lm -fopenmp

LIB_SRC     := $(wildcard lib/*.c) $(wildcard traces/*.c) $(wildcard analysis/*.c)
CUDA_SRC    := $(wildcard kernels/*.cu) $(wildcard lib/*.cu)
HARNESS_SRC := $(wildcard harness/*.c)
TEST_SRC    := $(wildcard tests/*.c)
GPU_TEST_SRC := $(wildcard tests/gpu/*.c)

LIB_OBJ      := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CUDA_SRC:%.cu=$(BUILD)/%.o)
HARNESS_OBJ  := $(HARNESS_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ     := $(TEST_SRC:%.c=$(BUILD)/%.o)
GPU_TEST_OBJ := $(GPU_TEST_SRC:%.c=$(BUILD)/%.o)
DEPS_STAMP   := $(BUILD)/.deps-ok

.PHONY: all deps test gpu-test clean demo device-libs
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
	@test -x $(NVCC) || { echo "CUDA toolkit not found at $(CUDA_HOME) (set CUDA_HOME)"; exit 1; }
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/%.o: %.c $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cu $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -c $< -o $@

# The commit the build comes from, rewritten only when it changes (lib/version.c).
.PHONY: FORCE
$(BUILD)/git_commit.h: FORCE $(DEPS_STAMP)
	@echo '#define LITELAB_GIT_COMMIT "$(GIT_COMMIT)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/lib/version.o: $(BUILD)/git_commit.h
$(BUILD)/lib/version.o: CFLAGS += -I$(BUILD)

$(BUILD)/liblitelab.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/litelab: $(HARNESS_OBJ) $(BUILD)/liblitelab.a
	$(CC) -o $@ $^ $(LDLIBS)

$(TEST_OBJ): CFLAGS += -DLITELAB='"../$(BUILD)/litelab"'
$(BUILD)/test_litelab: $(TEST_OBJ) $(BUILD)/liblitelab.a
	$(CC) -o $@ $^ -lcunit $(LDLIBS)

$(BUILD)/gpu_test: $(GPU_TEST_OBJ) $(BUILD)/liblitelab.a
	$(CC) -o $@ $^ $(LDLIBS)

# The CUnit suites; they run the CLI too (bad-input exit codes), so build it first.
test: $(BUILD)/test_litelab $(BUILD)/litelab
	cd tests && ../$(BUILD)/test_litelab

gpu-test: $(BUILD)/gpu_test
	$(BUILD)/gpu_test

# The README's main job: the embedded synthetic trajectory replayed under the
# dense and LiteAttention policies (CPU backend where there is no GPU).
demo: $(BUILD)/litelab
	$(BUILD)/litelab run experiments/default.json -o $(BUILD)/default_trace.h5

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
	$(CC) -o $@ $^ $(LDLIBS)

-include $(BUILD)/experiments/bench_reference.d

# Speed of threshold screening at Wan 720p scale (experiments/results/calibrate_speed.md);
# options: build/bench_calibrate --help (e.g. --shape wan480p --configs 200).
.PHONY: bench-calibrate
bench-calibrate: $(BUILD)/bench_calibrate
	$(BUILD)/bench_calibrate

$(BUILD)/bench_calibrate: $(BUILD)/experiments/bench_calibrate.o $(BUILD)/liblitelab.a
	$(CC) -o $@ $^ $(LDLIBS)

-include $(BUILD)/experiments/bench_calibrate.d

# Kernel objects carry compressed fatbinaries (4-6x smaller binaries, so the
# GPU machine gets them in one transfer; decompressed once at module load).
$(BUILD)/kernels/%.o: NVCCFLAGS += -Xfatbin -compress-all

# Earlier kernel versions as standalone programs (kernels/dev/, llm.c's
# dev/cuda style): each checks itself against the CPU reference and times
# itself, next to the shipped kernel. Not part of `all`; they need a GPU to run.
DEV_KERNEL_SRC := $(wildcard kernels/dev/*.cu)
DEV_KERNELS    := $(DEV_KERNEL_SRC:kernels/dev/%.cu=$(BUILD)/dev/%)
.PHONY: dev-kernels
dev-kernels: $(DEV_KERNELS)

$(BUILD)/dev/%: $(BUILD)/kernels/dev/%.o $(BUILD)/liblitelab.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS)

-include $(DEV_KERNEL_SRC:%.cu=$(BUILD)/%.d)
