# tests/fuzz/lib.sh - shared by run.sh and replay.sh: builds the libFuzzer
# drivers against the library sources. Sourced, not run.
#
# Every userspace/*/*.c except cli/main.c is compiled with
# -fsanitize=fuzzer-no-link,address,undefined (with the generated $B/gen/*.c
# that `make` writes) into $FZ/obj and archived into
# $FZ/libgwbpf-fuzz.a; each tests/fuzz/fuzz_NAME.c is linked against it with
# -fsanitize=fuzzer into $FZ/fuzz_NAME. Objects are rebuilt only when their
# source or a header is newer. A library file that does not compile (e.g. it
# needs a generated skeleton that is not built yet) is left out with a
# warning: the archive only matters for the objects a driver pulls in.

B=${B:-build}
FZ=$B/fuzz
CLANG=${CLANG:-clang}
FUZZ_PKGS="libbpf libxdp libmnl openssl yaml-0.1 jansson libcurl libnghttp2 libpcre2-8"
FUZZ_CFLAGS="-g -O1 -std=gnu11 -fno-omit-frame-pointer -fsanitize=address,undefined \
-fno-sanitize-recover=undefined -Wno-unused-command-line-argument -pthread -Iinclude -I$B \
$(pkg-config --cflags $FUZZ_PKGS 2>/dev/null)"
FUZZ_LIBS="$(pkg-config --libs $FUZZ_PKGS 2>/dev/null) -lelf -lz -lm -pthread"

# fuzz_have_runtime() : 0 when clang can build and run a libFuzzer binary
fuzz_have_runtime() {
	command -v "$CLANG" > /dev/null 2>&1 || { FUZZ_WHY="$CLANG not found"; return 1; }
	mkdir -p "$FZ" || return 1
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ return 0; }\n' \
		> "$FZ/probe.c"
	if ! "$CLANG" -fsanitize=fuzzer,address,undefined "$FZ/probe.c" -o "$FZ/probe" \
		> "$FZ/probe.log" 2>&1; then
		FUZZ_WHY="clang's libFuzzer/sanitizer runtime is missing (see $FZ/probe.log)"
		return 1
	fi
	if ! "$FZ/probe" -runs=1 > "$FZ/probe.log" 2>&1; then
		FUZZ_WHY="a libFuzzer binary does not run here (see $FZ/probe.log)"
		return 1
	fi
	return 0
}

# fuzz_build_lib() : compiles the library sources that changed, archives them
fuzz_build_lib() {
	objs=""
	# generated sources (build/gen/*.c, made by `make`) belong to the library too
	for src in userspace/*/*.c "$B"/gen/*.c; do
		[ -f "$src" ] || continue
		[ "$src" = userspace/cli/main.c ] && continue
		case $src in
		"$B"/*) obj=$FZ/obj/gen/$(basename "${src%.c}").o ;;
		*) obj=$FZ/obj/${src%.c}.o ;;
		esac
		dir=$(dirname "$src")
		if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] ||
		   [ -n "$(find include "$dir" -name '*.h' -newer "$obj" 2>/dev/null | head -n 1)" ]; then
			mkdir -p "$(dirname "$obj")"
			if ! $CLANG $FUZZ_CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj" \
				2> "$obj.log"; then
				echo "fuzz: warning: $src does not compile, left out (see $obj.log)" >&2
				rm -f "$obj"
				continue
			fi
		fi
		objs="$objs $obj"
	done
	rm -f "$FZ/libgwbpf-fuzz.a"
	# shellcheck disable=SC2086
	ar rcs "$FZ/libgwbpf-fuzz.a" $objs
}

# fuzz_build_driver NAME : links tests/fuzz/fuzz_NAME.c into $FZ/fuzz_NAME
fuzz_build_driver() {
	# shellcheck disable=SC2086
	$CLANG $FUZZ_CFLAGS -fsanitize=fuzzer "tests/fuzz/fuzz_$1.c" "$FZ/libgwbpf-fuzz.a" \
		$FUZZ_LIBS -o "$FZ/fuzz_$1"
}

# fuzz_targets : the NAMEs of every tests/fuzz/fuzz_NAME.c (or $FUZZ_TARGETS)
fuzz_targets() {
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		echo "$FUZZ_TARGETS"
		return
	fi
	for f in tests/fuzz/fuzz_*.c; do
		[ -f "$f" ] || continue
		n=${f#tests/fuzz/fuzz_}
		echo "${n%.c}"
	done
}

# fuzz_dict NAME : the dictionary option for a target, if it has one
fuzz_dict() {
	if [ -f "tests/fuzz/$1.dict" ]; then
		echo "-dict=tests/fuzz/$1.dict"
	else
		case $1 in
		http1 | chunked | resp) echo "-dict=tests/fuzz/http.dict" ;;
		esac
	fi
}
