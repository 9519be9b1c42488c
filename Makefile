# pwapt: see README.md.  `make demo` and `make check` install what they need.
CC ?= gcc
CXX ?= g++
PREFIX ?= /usr/local
LIBEXECDIR ?= $(PREFIX)/lib/pwapt
MANDIR ?= $(PREFIX)/share/man
VERSION := 0.1
# Settings of this build tree (as `make SANITIZE=...` would give them).
-include config.mak

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=gnu++17 -D_GNU_SOURCE -fno-strict-aliasing
# liblxc is loaded when a container is first opened (world/container.c),
# not linked: with its own libraries it cost every command 0.5 ms.
LXC_LIBS := -lutil -lpthread
# What a C program links with shim/libaptshim.a.
SHIM_LIBS := $(shell pkg-config --libs apt-pkg 2>/dev/null || echo -lapt-pkg) -lstdc++
# libdpkg ships only as a static library, with its compressors' libraries.
DPKG_LIBS := $(shell pkg-config --static --libs libdpkg 2>/dev/null || \
	echo -ldpkg -lmd -lz -llzma -lzstd -lbz2)
NET_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
# libnftables is loaded when first used (world/nft.c), not linked.
LXC_LIBS += $(shell pkg-config --libs libnl-route-3.0 2>/dev/null || \
	echo -lnl-route-3 -lnl-3) -ldl

# The trace collector's: libbpf (world/trace-bpf.c) and libaudit (the audit
# backend, world/trace-audit.c).  Linked into pwapt-trace, not pwapt: they
# cost every command 0.4 ms of dynamic loading at start.
BPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
TRACE_LIBS := $(BPF_LIBS) $(shell pkg-config --libs audit 2>/dev/null || echo -laudit)
BPFTOOL ?= $(shell command -v bpftool || echo /usr/sbin/bpftool)
BPF_CLANG ?= clang

ifeq ($(DEVELOPER),1)
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
CFLAGS += $(WARNINGS) -Wstrict-prototypes -Wmissing-prototypes -Wno-format-truncation
CXXFLAGS += $(WARNINGS)
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
CXXFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer $(SANITIZE_CXXFLAGS)
LDFLAGS += -fsanitize=$(SANITIZE)
endif

WORLD_OBJS := world/crash.o world/error.o world/fsutil.o world/xattrat.o world/strv.o world/store.o world/layers-overlay.o world/layers.o world/layers-mounts.o \
	world/container.o world/container-confine.o world/container-mounts.o world/container-env.o world/container-cgroup.o world/freezer.o world/initcopy.o world/discard.o world/world.o world/sides.o world/diff-compare.o world/diff.o world/journal.o world/undo.o world/undo-db.o world/undo-known.o world/undo-after.o \
	world/recover.o world/merge-plan.o world/merge-move.o world/merge-dirs.o world/merge-save.o world/merge.o world/api-merge.o world/save.o \
	world/links.o world/checkoff.o world/lowerhad.o world/conflicts.o world/conflicts-moved.o world/pkglists.o world/dpkgdb.o world/dbmerge.o \
	world/netfile.o world/netdev.o world/nft.o world/api-net.o world/lifecycle.o \
	world/trace-bpf.o world/trace-table.o world/trace-flush.o world/trace-teller.o world/api-trace.o world/api-trace-run.o world/api-diff.o world/api-list.o \
	world/trace-writer.o world/trace-held.o world/trace-audit.o world/trace-audit-events.o world/warnings.o \
	world/dbrec.o world/textdb.o world/accountdb.o world/layers-overlaps.o \
	world/procs.o world/services.o world/svcusers.o world/svcports.o world/svcorder.o world/api-services.o \
	world/layers-volatile.o world/layers-redirect.o world/redirect.o \
	world/excluded.o world/childwait.o
PWAPT_OBJS := pwapt/main.o pwapt/config.o pwapt/cmd-create.o pwapt/cmd-diff.o \
	pwapt/cmd-delete.o pwapt/cmd-exec.o pwapt/cmd-console.o \
	pwapt/cmd-list.o pwapt/cmd-startstop.o pwapt/cmd-merge.o pwapt/cmd-recover.o \
	pwapt/cmd-checkoff.o pwapt/cmd-ip.o pwapt/cmd-apt.o pwapt/apt.o \
	pwapt/txn.o pwapt/report.o pwapt/run.o pwapt/service.o pwapt/cmd-txn.o \
	pwapt/cmd-trace.o pwapt/trace-exec.o pwapt/trace-start.o pwapt/options.o pwapt/cmd-unattended.o \
	pwapt/quote.o pwapt/handover.o pwapt/handover-removed.o pwapt/svcmove.o pwapt/svcnotes.o pwapt/svcsteps.o pwapt/svcconfig.o pwapt/svcowners.o \
	pwapt/svccheck.o
# pwapt-trace: pwapt whose `pwapt trace run` is the collector itself.
COLLECTOR_OBJS := $(PWAPT_OBJS:pwapt/trace-exec.o=pwapt/trace-run.o)
SHIM_OBJS := shim/aptshim.o
LINKS := wcreate wdelete wdiff wexec wconsole wlist wmerge check-off wip
UNIT_TESTS := tests/unit/test-store tests/unit/test-fsutil tests/unit/test-shim \
	tests/unit/test-dpkgdb tests/unit/test-net tests/unit/test-journal \
	tests/unit/test-layers tests/unit/test-diff tests/unit/test-plan \
	tests/unit/test-services tests/unit/test-trace tests/unit/test-teller \
	tests/unit/test-childwait \
	tests/unit/test-freezer tests/unit/test-save

all: bin/pwapt bin/pwapt-trace bin/pwapt-init bin/pwapt-aptshim.so $(addprefix bin/,$(LINKS)) \
	shim/libaptshim.a

world/%.o: world/%.c world/*.h
	$(CC) $(CFLAGS) -c -o $@ $<
world/netdev.o: CFLAGS += $(NET_CFLAGS)

# kernel/: the BPF trace programs (CO-RE), their types from the running
# kernel's BTF, and the skeleton world/trace-bpf.c loads them with.
kernel/vmlinux.h:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c >$@.tmp
	mv $@.tmp $@
kernel/pwapt-trace.bpf.o: kernel/pwapt-trace.bpf.c kernel/trace-event.h kernel/vmlinux.h
	$(BPF_CLANG) -g -O2 -mcpu=v3 -Wall -target bpf -D__TARGET_ARCH_x86 \
		-Ikernel -c -o $@ $<
kernel/pwapt-trace.skel.h: kernel/pwapt-trace.bpf.o
	$(BPFTOOL) gen skeleton $< name pwapt_trace >$@.tmp
	mv $@.tmp $@
world/trace-bpf.o: kernel/pwapt-trace.skel.h kernel/trace-event.h
world/trace-table.o: kernel/trace-event.h
# Hidden: the libraries pwapt loads must not bind to its names (libnftables
# calls jansson's json_string(), not the front end's).
pwapt/%.o: pwapt/%.c pwapt/*.h world/world.h world/cleanup.h world/strv.h \
		shim/aptshim.h
	$(CC) $(CFLAGS) -fvisibility=hidden -c -o $@ $<

# Install paths compiled into pwapt; rewritten only when they change, so
# that `make install PREFIX=/usr` after `make` rebuilds what depends on them.
pwapt/build-config.h: FORCE
	@printf '#define PWAPT_VERSION "%s"\n#define PWAPT_LIBEXECDIR "%s"\n' \
		'$(VERSION)' '$(LIBEXECDIR)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi
pwapt/main.o pwapt/options.o: pwapt/build-config.h

shim/%.o: shim/%.cc shim/aptshim.h
	$(CXX) $(CXXFLAGS) -c -o $@ $<

# Made anew: `ar r` would keep the member of a source file since removed.
world/libworld.a: $(WORLD_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

shim/libaptshim.a: $(SHIM_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The shim as the module pwapt loads when it asks apt (pwapt/apt.c): linked
# into pwapt, libapt-pkg and libstdc++ cost every command's start.
shim/%.pic.o: shim/%.cc shim/aptshim.h
	$(CXX) $(CXXFLAGS) -fPIC -c -o $@ $<
bin/pwapt-aptshim.so: $(SHIM_OBJS:.o=.pic.o)
	@mkdir -p bin
	$(CXX) $(LDFLAGS) -shared -o $@ $^ $(SHIM_LIBS)

bin/pwapt: $(PWAPT_OBJS) world/libworld.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(PWAPT_OBJS) world/libworld.a \
		$(LXC_LIBS) $(DPKG_LIBS) -ldl

# libworld.a's members the collector needs (world/api-trace-run.o and what
# it calls) are pulled into this link only.
bin/pwapt-trace: $(COLLECTOR_OBJS) world/libworld.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(COLLECTOR_OBJS) world/libworld.a \
		$(LXC_LIBS) $(TRACE_LIBS) $(DPKG_LIBS) -ldl

# PID 1 of every container: static, since a world's tree may have no libc.
bin/pwapt-init: world/pwapt-init.c
	@mkdir -p bin
	$(CC) -O2 -static -o $@ $<

$(addprefix bin/,$(LINKS)): bin/pwapt
	ln -sf pwapt $@

tests/unit/%: tests/unit/%.c tests/unit/tap.h world/libworld.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< world/libworld.a $(LXC_LIBS) \
		$(TRACE_LIBS) $(DPKG_LIBS)

# The unit tests of one floor of world/ link with the objects of that floor
# and those below it (world/FLOORS), not with libworld.a: the link itself
# fails when one of them reaches up.  $(call floor_objs,X): the objects of
# the floors up to the one that holds world/X.o, lowest first (none when X
# is on no floor: the link then fails too).
floor_objs = $(patsubst %,world/%.o,$(shell awk -v o=$(1) \
	'{ l = l " " $$0; for (i = 1; i <= NF; i++) if ($$i == o) { \
	print l; exit } }' world/FLOORS))
floor_test = $(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(filter world/%.o,$^) \
	$(LXC_LIBS) $(TRACE_LIBS) $(DPKG_LIBS)
tests/unit/test-journal: tests/unit/test-journal.c tests/unit/tap.h world/*.h \
		$(call floor_objs,journal)
	$(floor_test)
tests/unit/test-layers: tests/unit/test-layers.c tests/unit/tap.h \
		tests/unit/scratch.h world/*.h $(call floor_objs,layers)
	$(floor_test)
tests/unit/test-diff: tests/unit/test-diff.c tests/unit/tap.h \
		tests/unit/scratch.h world/*.h $(call floor_objs,diff)
	$(floor_test)
tests/unit/test-plan: tests/unit/test-plan.c tests/unit/tap.h \
		tests/unit/scratch.h world/*.h $(call floor_objs,merge)
	$(floor_test)
tests/unit/test-trace: tests/unit/test-trace.c tests/unit/tap.h world/*.h \
		$(call floor_objs,trace-writer)
	$(floor_test)
tests/unit/test-teller: tests/unit/test-teller.c tests/unit/tap.h world/*.h \
		$(call floor_objs,trace-teller)
	$(floor_test)
tests/unit/test-services: tests/unit/test-services.c tests/unit/tap.h \
		world/*.h $(call floor_objs,services)
	$(floor_test)
tests/unit/test-childwait: tests/unit/test-childwait.c tests/unit/tap.h \
		world/*.h $(call floor_objs,childwait)
	$(floor_test)
tests/unit/test-freezer: tests/unit/test-freezer.c tests/unit/tap.h \
		world/*.h $(call floor_objs,freezer)
	$(floor_test)
tests/unit/test-save: tests/unit/test-save.c tests/unit/tap.h \
		world/*.h $(call floor_objs,save)
	$(floor_test)

tests/unit/test-shim: tests/unit/test-shim.c tests/unit/tap.h shim/aptshim.h \
		shim/libaptshim.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< shim/libaptshim.a $(SHIM_LIBS)

# Fuzz targets (libFuzzer, clang): `make fuzz FUZZ_SECONDS=300`.
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
tests/fuzz/fuzz-meta: tests/fuzz/fuzz-meta.c world/store.c world/error.c \
		world/fsutil.c world/crash.c world/strv.c world/*.h
	clang $(FUZZ_CFLAGS) -o $@ $< world/store.c world/error.c world/fsutil.c \
		world/crash.c world/strv.c
tests/fuzz/fuzz-config: tests/fuzz/fuzz-config.c pwapt/config.c pwapt/pwapt.h \
		world/strv.c world/strv.h
	clang $(FUZZ_CFLAGS) -o $@ $< pwapt/config.c world/strv.c
DPKGDB_SRCS := world/dpkgdb.c world/dbrec.c world/textdb.c world/accountdb.c
tests/fuzz/fuzz-dpkgdb: tests/fuzz/fuzz-dpkgdb.c $(DPKGDB_SRCS) world/error.c \
		world/*.h
	clang $(FUZZ_CFLAGS) -o $@ $< $(DPKGDB_SRCS) world/error.c $(DPKG_LIBS)
tests/fuzz/fuzz-trace: tests/fuzz/fuzz-trace.c world/trace-table.c world/error.c \
		world/fsutil.c world/crash.c world/*.h kernel/trace-event.h
	clang $(FUZZ_CFLAGS) -o $@ $< world/trace-table.c world/error.c world/fsutil.c world/crash.c
FREEZER_SRCS := world/freezer.c world/container-cgroup.c world/fsutil.c \
	world/xattrat.c world/error.c world/crash.c world/strv.c
tests/fuzz/fuzz-freezer: tests/fuzz/fuzz-freezer.c $(FREEZER_SRCS) world/*.h
	clang $(FUZZ_CFLAGS) -o $@ $< $(FREEZER_SRCS)
# The other parsers link with libworld built for fuzzing; a harness of a
# static parser includes its .c file (its other names then come from the
# harness, not from the library).
FUZZ_OBJS := $(patsubst world/%.o,tests/fuzz/obj/%.o,$(WORLD_OBJS))
tests/fuzz/obj/%.o: world/%.c world/*.h
	@mkdir -p tests/fuzz/obj
	clang $(subst fuzzer,fuzzer-no-link,$(FUZZ_CFLAGS)) $(NET_CFLAGS) -c -o $@ $<
tests/fuzz/obj/trace-bpf.o: kernel/pwapt-trace.skel.h
tests/fuzz/libworld.a: $(FUZZ_OBJS)
	rm -f $@
	$(AR) rcs $@ $^
FUZZ_LINKED := net journal checkoff txn services
$(addprefix tests/fuzz/fuzz-,$(FUZZ_LINKED)): tests/fuzz/fuzz-%: \
		tests/fuzz/fuzz-%.c tests/fuzz/libworld.a world/*.h world/*.c \
		pwapt/txn.c pwapt/txn.h
	clang $(FUZZ_CFLAGS) $(NET_CFLAGS) -o $@ $< tests/fuzz/libworld.a \
		$(LXC_LIBS) $(TRACE_LIBS) $(DPKG_LIBS)
FUZZ_TARGETS := meta config dpkgdb trace freezer $(FUZZ_LINKED)
# Every target with leak detection on; FUZZ_TARGETS=journal runs one.
fuzz: $(addprefix tests/fuzz/fuzz-,$(FUZZ_TARGETS))
	for t in $(FUZZ_TARGETS); do \
		mkdir -p tests/fuzz/run-$$t && \
		ASAN_OPTIONS=detect_leaks=1 tests/fuzz/fuzz-$$t \
			-max_total_time=$(FUZZ_SECONDS) -detect_leaks=1 \
			tests/fuzz/run-$$t tests/fuzz/corpus-$$t || exit 1; \
	done

deps:
	@tools/install-deps

# libworld's floors (world/FLOORS, README "Architecture"): no object uses
# one of a higher floor, none calls another in a circle, no source file of
# world/ or pwapt/ has more than 900 lines.  Part of `check`.
check-floors: world/libworld.a
	@tools/check-floors

check: deps all $(UNIT_TESTS)
	@tools/check-floors
	@tests/run-all

# The build again with ASan and UBSan, in build-sanitize/ (the normal build
# stays as it is), and the unit tests and the busybox-tree tests run with
# it; any sanitizer report fails it.  pwapt-init stays static, unsanitized.
# clang: with gcc, UBSan's reports ignore log_path when ASan is on.  The
# C++ shim without UBSan's C++-only checks, whose runtime a C link lacks.
# Leaks inside liblxc and libdpkg are suppressed (tests/lsan.supp; the slow
# unwinder, since libdpkg has no frame pointers).  Its config.mak
# keeps any later make there (t0100 runs make install) sanitized.
SANITIZE_DIR := build-sanitize
SANITIZE_TESTS := $(UNIT_TESTS) $(addprefix tests/,t0010-worlds.sh t0020-exec.sh \
	t0030-delete-list.sh t0050-recovery.sh t0060-host-root.sh \
	t0070-console.sh t0090-filesystems.sh t0100-cli.sh t0200-wdiff.sh \
	t0300-wmerge.sh t0310-checkoff.sh t0360-overlay-records.sh)
SANITIZE_REPORTS = $(CURDIR)/$(SANITIZE_DIR)/reports
check-sanitize: deps
	rm -rf $(SANITIZE_DIR)
	mkdir -p $(SANITIZE_DIR)/reports
	tar -c --exclude=./$(SANITIZE_DIR) --exclude=./.git --exclude=./bin \
		--exclude='*.o' --exclude='*.a' --exclude=./tests/results \
		--exclude=./tests/fuzz . | tar -x -C $(SANITIZE_DIR)
	printf '%s\n' 'SANITIZE := address,undefined' 'CC := clang' \
		'CXX := clang++' 'SANITIZE_CXXFLAGS := -fno-sanitize=vptr,function' \
		>$(SANITIZE_DIR)/config.mak
	$(MAKE) -s -C $(SANITIZE_DIR) clean
	$(MAKE) -s -C $(SANITIZE_DIR) all $(UNIT_TESTS)
	@cd $(SANITIZE_DIR) && \
	ASAN_OPTIONS=log_path=$(SANITIZE_REPORTS)/asan:detect_leaks=1:fast_unwind_on_malloc=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=log_path=$(SANITIZE_REPORTS)/ubsan:print_stacktrace=1:halt_on_error=1 \
		tests/run-all $(SANITIZE_TESTS); rc=$$?; \
	if [ -n "$$(ls reports)" ]; then \
		grep -h -e 'runtime error' -e '^SUMMARY' reports/* | \
			sed 's|.*$(SANITIZE_DIR)/||' | sort | uniq -c; \
		head -n 40 "reports/$$(ls reports | head -n 1)"; \
		echo "not ok - sanitizer reports in $(SANITIZE_DIR)/reports"; \
		exit 1; \
	fi; exit $$rc

demo: deps all
	@examples/demo.sh

# The paper's scenarios, each on a Debian tree of its own (examples/*/run.sh;
# POSTS=N: the blog's post count, 1000 as the paper by default).
example-make: deps all
	@examples/derived-make/run.sh
example-wordpress: deps all
	@examples/wordpress-php/run.sh
example-unattended: deps all
	@examples/unattended/run.sh
# The three, then the paper's Tables III, IV and V measured on this
# machine: build/paper/results.md, table3.png and table5.png (tools/paper;
# PAPER_RUNS=N, PAPER_AB_REQUESTS=N, PAPER_AB_ROUNDS=N).
paper: deps all
	@tools/paper

bench: deps all
	@tests/bench/run
	@tests/bench/merge
	@tests/bench/mvdir
	@tests/bench/net
	@tests/bench/handover
	@tests/bench/upgrade
	@tests/bench/overlay-opts
	@BENCH_UPGRADE_PKGS=1 tests/bench/upgrade
	@tests/bench/unattended
	@tests/bench/trace

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)/usr/share/bash-completion/completions \
		$(DESTDIR)/lib/systemd/system \
		$(DESTDIR)/lib/systemd/system/apt-daily-upgrade.service.d \
		$(DESTDIR)/etc/needrestart/conf.d
	install -m 755 bin/pwapt $(DESTDIR)$(PREFIX)/bin/pwapt
	install -m 755 bin/pwapt-init $(DESTDIR)$(LIBEXECDIR)/pwapt-init
	install -m 755 bin/pwapt-trace $(DESTDIR)$(LIBEXECDIR)/pwapt-trace
	install -m 644 bin/pwapt-aptshim.so $(DESTDIR)$(LIBEXECDIR)/pwapt-aptshim.so
	for l in $(LINKS); do ln -sf pwapt $(DESTDIR)$(PREFIX)/bin/$$l; done
	install -m 644 pwapt/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 contrib/bash-completion $(DESTDIR)/usr/share/bash-completion/completions/pwapt
	for l in $(LINKS); do ln -sf pwapt $(DESTDIR)/usr/share/bash-completion/completions/$$l; done
	sed 's|@BINDIR@|$(PREFIX)/bin|' contrib/pwapt-worlds.service.in \
		> $(DESTDIR)/lib/systemd/system/pwapt-worlds.service
	sed 's|@BINDIR@|$(PREFIX)/bin|' contrib/pwapt-trace.service.in \
		> $(DESTDIR)/lib/systemd/system/pwapt-trace.service
	sed 's|@BINDIR@|$(PREFIX)/bin|g' contrib/apt-daily-upgrade-pwapt.conf.in \
		> $(DESTDIR)/lib/systemd/system/apt-daily-upgrade.service.d/pwapt.conf
	install -m 644 contrib/needrestart-pwapt.conf \
		$(DESTDIR)/etc/needrestart/conf.d/pwapt.conf

style:
	clang-format -i world/*.[ch] pwapt/*.[ch] shim/*.cc shim/*.h tests/unit/*.[ch]

clean:
	rm -rf bin kernel/vmlinux.h kernel/*.bpf.o kernel/*.skel.h world/*.o world/*.a shim/*.o shim/*.a pwapt/*.o pwapt/build-config.h $(UNIT_TESTS) \
		$(addprefix tests/fuzz/fuzz-,$(FUZZ_TARGETS)) tests/fuzz/run-* \
		tests/fuzz/obj tests/fuzz/libworld.a
	rm -rf $(SANITIZE_DIR)

.PHONY: all deps check check-floors check-sanitize demo example-make example-wordpress example-unattended paper bench install style clean fuzz FORCE
