# ndspy: one Makefile for the binary, the tests, the demo and the benchmarks.
# Everything built lands in build/. `make deps` installs the Debian packages
# that are missing (as root); all, check and demo depend on it.

CC       ?= gcc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers -MMD -MP
LDLIBS   += -lbpf -lcapstone -lelf -lunwind-x86_64 -lm -pthread
PREFIX   ?= /usr/local
DESTDIR  ?=
PYTHON   ?= /usr/bin/python3
VERSION  := 0.1.0

B := build
DEB_PKGS := gcc make pkg-config libelf-dev libbpf-dev libunwind-dev libcapstone-dev \
            libcmocka-dev clang llvm bpftool python3-numpy python3-dev gdb \
            util-linux debootstrap binutils

DECODE_SRC := $(wildcard decode/*.c)
AGENT_SRC  := $(wildcard agent/*.c)
PROBE_SRC  := $(wildcard probe/*.c)
DECODE_OBJ := $(DECODE_SRC:%.c=$(B)/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(B)/%.o)
PROBE_OBJ  := $(PROBE_SRC:%.c=$(B)/%.o)
BPF_SKEL   := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.skel.h,$(wildcard bpf/*.bpf.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_LIB   := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))

.PHONY: all deps check demo bench install clean layouts

all: deps $(B)/ndspy

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "ndspy: missing Debian packages:$$missing (run 'make deps' as root)" >&2; \
	    exit 1; \
	  fi; \
	  echo "make deps: installing$$missing"; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

$(B)/ndspy: $(AGENT_OBJ) $(PROBE_OBJ) $(B)/libdecode.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# eBPF: CO-RE programs against this kernel's BTF, embedded as skeletons
$(B)/bpf/vmlinux.h:
	@mkdir -p $(@D)
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(B)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h $(B)/bpf/vmlinux.h
	clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$(B)/bpf -Ibpf -c $< -o $@

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	bpftool gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# keep the object: the skeleton embeds it, make need not rebuild it
.SECONDARY: $(BPF_SKEL:.skel.h=.bpf.o)

$(PROBE_OBJ) $(AGENT_OBJ): $(BPF_SKEL)
$(PROBE_OBJ): CFLAGS += -I$(B)/bpf

$(B)/libdecode.a: $(DECODE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DNDSPY_VERSION='"$(VERSION)"' -c -o $@ $<

$(B)/libprobe.a: $(B)/probe/placement.o $(B)/probe/live_table.o
	rm -f $@ && ar rcs $@ $^

$(B)/tests/%: tests/unit/%.c $(UNIT_LIB) $(B)/libdecode.a $(B)/libprobe.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(UNIT_LIB) $(B)/libdecode.a $(B)/libprobe.a \
		-lcapstone -lcmocka -lm

$(B)/bench/rawread: tests/bench/rawread.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

check: deps $(B)/ndspy $(UNIT_BIN)
	@PYTHON=$(PYTHON) bash tests/run.sh $(UNIT_BIN)

demo: deps $(B)/ndspy
	@PYTHON=$(PYTHON) bash tests/demo.sh

bench: deps $(B)/ndspy $(B)/bench/rawread
	@$(PYTHON) tests/bench/bench_save.py
	@$(PYTHON) tests/bench/bench_list.py
	@$(PYTHON) tests/bench/bench_watch.py

# Rewrites decode/layout_data.h from the headers of every supported version
# (the matrix chroots, the host, pyenv builds for 3.10 and 3.12).
layouts: deps
	@$(PYTHON) tests/layout/derive.py --write $$(for s in $$(cat tests/matrix/suites); do \
	  bash tests/matrix/chroot.sh $$s; done)

install: $(B)/ndspy
	install -D -m 0755 $(B)/ndspy $(DESTDIR)$(PREFIX)/bin/ndspy

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
