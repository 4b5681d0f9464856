# ndspy: one Makefile for the binary, the tests, the demo and the benchmarks.
# Everything built lands in build/. `make deps` installs the Debian packages
# that are missing (as root); all, check and demo depend on it, and every
# rule that runs a compiler waits for it (order-only: `make -j` on a machine
# without the packages installs them first, then builds). `make test-deps`
# adds the programs only the tests drive (check depends on it).

CC       ?= gcc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers -MMD -MP
LDLIBS   += -lbpf -lcapstone -lelf -lunwind-x86_64 -lprotobuf-c -lz \
            -lmicrohttpd -lncursesw -lm -pthread
PREFIX   ?= /usr/local
DESTDIR  ?=
PYTHON   ?= /usr/bin/python3
VERSION  := 0.1.0

B := build
DEB_PKGS := gcc make pkg-config libelf-dev libbpf-dev libunwind-dev libcapstone-dev \
            libcmocka-dev clang llvm bpftool python3-numpy python3-dev gdb \
            util-linux debootstrap binutils libclang-rt-14-dev \
            python3-pandas python3-sklearn \
            libprotobuf-c-dev protobuf-c-compiler golang-github-google-pprof-dev \
            zlib1g-dev libmicrohttpd-dev libncurses-dev dpkg-dev
# what the suites run ndspy's outputs through: dot, a Prometheus server,
# go tool pprof, a headless browser, a terminal, man and groff (the man page)
TEST_PKGS := graphviz prometheus golang-go chromium tmux man-db groff-base

DECODE_SRC := $(wildcard decode/*.c)
AGENT_SRC  := $(wildcard agent/*.c)
PROBE_SRC  := $(wildcard probe/*.c)
DECODE_OBJ := $(DECODE_SRC:%.c=$(B)/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(B)/%.o)
PROBE_OBJ  := $(PROBE_SRC:%.c=$(B)/%.o)
BPF_SKEL   := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.skel.h,$(wildcard bpf/*.bpf.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_LIB   := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c)) \
              tests/fuzz/image_file.c

.PHONY: all deps test-deps check test demo bench fuzz fuzz-seeds install deb \
	static clean layouts

all: deps $(B)/ndspy

deps test-deps:
	@missing=""; for p in $(if $(filter deps,$@),$(DEB_PKGS),$(TEST_PKGS)); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "ndspy: missing Debian packages:$$missing (run 'make $@' as root)" >&2; \
	    exit 1; \
	  fi; \
	  echo "make $@: installing$$missing"; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

# Made from other files: pprof's profile.proto (Debian's copy) compiled by
# protoc-c, and the flame graph page as a C array (agent/report*.c).
GEN           := $(B)/gen
PROFILE_PROTO := /usr/share/gocode/src/github.com/google/pprof/proto/profile.proto
GEN_H         := $(GEN)/profile.pb-c.h $(GEN)/flame_html.h

# (the .proto a prerequisite only once it is there: make deps installs it)
$(GEN)/profile.pb-c.c $(GEN)/profile.pb-c.h &: $(wildcard $(PROFILE_PROTO)) | deps
	@mkdir -p $(@D)
	protoc-c --proto_path=$(dir $(PROFILE_PROTO)) --c_out=$(GEN) \
		$(notdir $(PROFILE_PROTO))

$(GEN)/flame_html.h: agent/flame.html | deps
	@mkdir -p $(@D)
	{ echo 'static const unsigned char flame_html[] = {'; \
	  od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0};'; } >$@.tmp && mv $@.tmp $@

$(GEN)/%.o: $(GEN)/%.c | deps
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/ndspy: $(AGENT_OBJ) $(PROBE_OBJ) $(GEN)/profile.pb-c.o $(B)/libdecode.a | deps
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# eBPF: CO-RE programs (the kernel types they use in bpf/vmlinux.h,
# relocated at load time), embedded as skeletons
$(B)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h bpf/vmlinux.h | deps
	@mkdir -p $(@D)
	clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -Ibpf -c $< -o $@

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o | deps
	bpftool gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# keep the object: the skeleton embeds it, make need not rebuild it
.SECONDARY: $(BPF_SKEL:.skel.h=.bpf.o)

# generated headers first; the .d files say who includes them
$(PROBE_OBJ) $(AGENT_OBJ): $(BPF_SKEL) | $(GEN_H)
$(PROBE_OBJ): CFLAGS += -I$(B)/bpf
$(AGENT_OBJ): CFLAGS += -I$(GEN)

$(B)/libdecode.a: $(DECODE_OBJ) | deps
	rm -f $@ && ar rcs $@ $^

$(B)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DNDSPY_VERSION='"$(VERSION)"' -c -o $@ $<

# What unit tests link besides decode/: the parts of probe/ and agent/
# that need no process (placement, the snapshot, the models).
MODEL_SRC := probe/placement.c agent/mem.c agent/maps.c agent/pymalloc.c \
             agent/snapshot.c agent/steady.c \
             agent/live_table.c agent/list_model.c agent/audit_model.c \
             agent/why_model.c

$(B)/libmodel.a: $(MODEL_SRC:%.c=$(B)/%.o) | deps
	rm -f $@ && ar rcs $@ $^

# Each source an object of its own: gcc's -MMD writes one .d per output, so
# one command compiling several sources would keep only the last one's
# headers, and a test would not be rebuilt when a header it includes changes.
$(UNIT_BIN): $(B)/tests/%: $(B)/tests/unit/%.o $(UNIT_LIB:%.c=$(B)/%.o) \
		$(B)/libmodel.a $(B)/libdecode.a | deps
	$(CC) -o $@ $(filter %.o %.a,$^) -lcapstone -lcmocka -lm -pthread

$(B)/bench/rawread: tests/bench/rawread.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

# The same program and unit tests built with ASan and UBSan: make check runs
# every suite a second time against them.
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer
SAN_B    := $(B)/san
SAN_UNIT := $(UNIT_SRC:tests/unit/%.c=$(SAN_B)/tests/%)

$(SAN_B)/%.o: %.c $(BPF_SKEL) | deps $(GEN_H)
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(filter-out -O2 -g,$(CFLAGS)) -I$(B)/bpf -I$(GEN) \
		-DNDSPY_VERSION='"$(VERSION)"' -c -o $@ $<

$(SAN_B)/gen/%.o: $(GEN)/%.c | deps
	@mkdir -p $(@D)
	$(CC) -O1 -g $(SAN) $(filter-out -O2 -g,$(CFLAGS)) -c -o $@ $<

$(SAN_B)/ndspy: $(AGENT_SRC:%.c=$(SAN_B)/%.o) $(PROBE_SRC:%.c=$(SAN_B)/%.o) \
		$(DECODE_SRC:%.c=$(SAN_B)/%.o) $(SAN_B)/gen/profile.pb-c.o | deps
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(SAN_UNIT): $(SAN_B)/tests/%: $(SAN_B)/tests/unit/%.o \
		$(UNIT_LIB:%.c=$(SAN_B)/%.o) $(DECODE_SRC:%.c=$(SAN_B)/%.o) \
		$(MODEL_SRC:%.c=$(SAN_B)/%.o) | deps
	$(CC) $(SAN) -o $@ $(filter %.o %.a,$^) -lcapstone -lcmocka -lm -pthread

# libFuzzer harnesses (tests/fuzz/): clang, with ASan and UBSan. decode/
# alone for fuzz_decode; the whole agent for fuzz_core.
F        := $(B)/fuzz
FUZZ_CC  := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer \
            -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -Wall -Wno-missing-field-initializers -MMD -MP -I$(B)/bpf -I$(GEN)
FUZZ_SEED_DIRS := tests/fuzz/seeds tests/fuzz/regress

$(F)/%.o: %.c $(BPF_SKEL) | deps $(GEN_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-DNDSPY_VERSION='"$(VERSION)"' -c -o $@ $<

$(F)/gen/%.o: $(GEN)/%.c | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(F)/fuzz_decode: $(F)/tests/fuzz/fuzz_decode.o $(F)/tests/fuzz/exercise.o \
		$(F)/tests/fuzz/image_file.o $(DECODE_SRC:%.c=$(F)/%.o) | deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lm

$(F)/fuzz_core: $(F)/tests/fuzz/fuzz_core.o \
		$(filter-out $(F)/agent/main.o,$(AGENT_SRC:%.c=$(F)/%.o)) \
		$(PROBE_SRC:%.c=$(F)/%.o) $(DECODE_SRC:%.c=$(F)/%.o) \
		$(F)/gen/profile.pb-c.o | deps
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(B)/tests/record: tests/fuzz/record.c tests/fuzz/exercise.c \
		$(wildcard tests/fuzz/*.h) \
		$(filter-out $(B)/agent/main.o,$(AGENT_OBJ)) $(PROBE_OBJ) \
		$(GEN)/profile.pb-c.o $(B)/libdecode.a | deps
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ $(filter-out %.h,$^) \
		$(LDLIBS)

FUZZ_BIN := $(F)/fuzz_decode $(F)/fuzz_core

check: deps test-deps $(B)/ndspy $(UNIT_BIN) $(SAN_B)/ndspy $(SAN_UNIT) $(FUZZ_BIN)
	@PYTHON=$(PYTHON) NDSPY_FUZZERS="$(FUZZ_BIN)" NDSPY_SAN=$(SAN_B)/ndspy \
		NDSPY_SAN_UNIT="$(SAN_UNIT)" bash tests/run.sh $(UNIT_BIN)

# The edit-compile-test loop: the unit tests and the host's integration
# suites, without the matrix, the fuzzers and the sanitizer round.
test: deps test-deps $(B)/ndspy $(UNIT_BIN)
	@PYTHON=$(PYTHON) NDSPY_MATRIX=0 NDSPY_BUILD=0 bash tests/run.sh $(UNIT_BIN)

demo: deps $(B)/ndspy
	@PYTHON=$(PYTHON) bash tests/demo.sh

# FUZZ_SECONDS per harness (default 60); findings land in build/fuzz/.
fuzz: deps $(B)/ndspy $(FUZZ_BIN)
	@bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60) $(FUZZ_BIN)

# Records tests/fuzz/seeds/ again from live processes of the matrix.
fuzz-seeds: deps $(B)/ndspy $(B)/tests/record
	@$(PYTHON) tests/fuzz/record.py

bench: deps $(B)/ndspy $(B)/bench/rawread
	@$(PYTHON) tests/bench/bench_save.py
	@$(PYTHON) tests/bench/bench_list.py
	@$(PYTHON) tests/bench/bench_watch.py
	@$(PYTHON) tests/bench/bench_why.py

# Rewrites decode/layout_data.h from the headers of every supported version
# (the matrix chroots, the free-threaded build, the host, pyenv builds for
# 3.10 and 3.12).
layouts: deps
	@$(PYTHON) tests/layout/derive.py --write $$( \
	  { tests/matrix/targets; tests/matrix/targets --no-numpy; } | \
	  awk '$$2 != "/" { print $$2 }' | sort -u)

# The man page: agent/ndspy.1.in with its COMMANDS, SYNOPSIS and EXAMPLES
# taken from the binary's own --help (agent/man.sh); and the bash completion,
# which asks `ndspy CMD --help` for options when it completes.
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

.PHONY: man
man: $(B)/ndspy.1

$(B)/ndspy.1: $(B)/ndspy agent/ndspy.1.in agent/man.sh
	sh agent/man.sh $(B)/ndspy agent/ndspy.1.in >$@.tmp && mv $@.tmp $@

install: $(B)/ndspy $(B)/ndspy.1
	install -D -m 0755 $(B)/ndspy $(DESTDIR)$(PREFIX)/bin/ndspy
	install -D -m 0644 $(B)/ndspy.1 $(DESTDIR)$(MANDIR)/man1/ndspy.1
	install -D -m 0644 agent/ndspy.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/ndspy

# One binary for any x86-64 Linux with BTF (5.11+): every library linked
# in from Debian's static archives, glibc's too. Debian's libmicrohttpd.a
# calls gnutls for TLS, which ndspy never asks for, and gnutls's static
# library needs p11-kit's, which Debian does not ship: those calls are
# bound to stubs that abort (gnutls_global_init, which libmicrohttpd's
# constructor calls, succeeds doing nothing), generated from the archive.
MHD_A       := /usr/lib/x86_64-linux-gnu/libmicrohttpd.a
STATIC_LIBS := -lbpf -lelf -lz -lcapstone -lunwind-x86_64 -lunwind -llzma \
               -lprotobuf-c -lmicrohttpd -lncursesw -ltinfo -lm -pthread
static: $(B)/ndspy-static

$(GEN)/notls.c: $(wildcard $(MHD_A)) | deps
	@mkdir -p $(@D)
	@test -r $(MHD_A) || { echo "ndspy: no $(MHD_A) (libmicrohttpd-dev)" >&2; exit 1; }
	nm -u $(MHD_A) >$@.syms
	{ echo '/* made by the Makefile: no TLS in the static build */'; \
	  echo '#include <stdlib.h>'; \
	  echo 'void *gnutls_malloc;'; \
	  echo 'int gnutls_global_init(void) { return 0; }'; \
	  echo 'void gnutls_global_deinit(void) {}'; \
	  awk '$$1 == "U" && $$2 ~ /^gnutls_/ { print $$2 }' $@.syms | \
	    sort -u | grep -v -x -e gnutls_malloc -e gnutls_global_init \
	      -e gnutls_global_deinit | \
	    sed 's/.*/void &(void) { abort(); }/'; } >$@.tmp && mv $@.tmp $@ && \
	  rm -f $@.syms

$(B)/ndspy-static: $(AGENT_OBJ) $(PROBE_OBJ) $(GEN)/profile.pb-c.o \
		$(GEN)/notls.o $(B)/libdecode.a | deps
	$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $^ $(STATIC_LIBS)

# A .deb of what install puts in a staging tree (agent/deb.sh says why the
# dynamic binary, and where its Depends come from).
DEB := $(B)/ndspy_$(VERSION)_amd64.deb
deb: $(DEB)

$(DEB): $(B)/ndspy $(B)/ndspy.1 agent/ndspy.bash-completion agent/deb.sh
	rm -rf $(B)/deb-root
	$(MAKE) --no-print-directory install DESTDIR=$(B)/deb-root PREFIX=/usr \
		>/dev/null
	sh agent/deb.sh $(VERSION) $(B)/deb-root $@.tmp && mv $@.tmp $@

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
