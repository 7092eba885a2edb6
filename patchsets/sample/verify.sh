#!/bin/bash
# Check the sample queue against the real trees, with plain git only.
#
#   verify.sh [--kernels GITDIR] [--keep DIR] [--export-target DIR] [--print]
#
# 1. `git am` the series (in `series` order) onto v6.1 in a scratch clone and check that
#    `git format-patch` of the result gives back the committed patch files byte for byte.
# 2. Replay the commits onto v6.12 one by one with
#    `git merge-tree --write-tree --merge-base=C^ OURS C`; OURS starts at v6.12 and moves
#    on (git commit-tree) after every patch that applies, stays after a conflict.
# 3. Derive each patch's verdict (empty, already-upstream, conflict, clean, merged),
#    conflicted files and rename target, print them as TOML and compare with the machine
#    fields of expected.toml (`why` is prose and not compared).
#
# --kernels GITDIR      kernel cache repo with tags v6.1 and v6.12
#                       (default ~/.cache/dovetail-port/kernels.git)
# --keep DIR            make the scratch clone in DIR and keep it (default: a temp dir, removed)
# --export-target DIR   also write the v6.12 + ported-patches tree to DIR (git archive), for a
#                       compile check
# --print               print the computed TOML only, do not compare
#
# Exit: 0 all matches, 1 a mismatch, 2 usage or setup error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kernels="$HOME/.cache/dovetail-port/kernels.git"
keep=""
export_dir=""
print_only=0
base_tag=v6.1
target_tag=v6.12

die() { echo "verify.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) kernels=${2:?--kernels needs a directory}; shift 2 ;;
	--keep) keep=${2:?--keep needs a directory}; shift 2 ;;
	--export-target) export_dir=${2:?--export-target needs a directory}; shift 2 ;;
	--print) print_only=1; shift ;;
	-h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

for t in "$base_tag" "$target_tag"; do
	git --git-dir="$kernels" rev-parse -q --verify "refs/tags/$t" >/dev/null ||
		die "$kernels has no tag $t; run the kernel import first (dovetail-port demo)"
done
[ -f "$here/series" ] || die "$here/series is missing"

if [ -n "$keep" ]; then
	[ ! -e "$keep" ] || die "$keep already exists; pass a new directory to --keep"
	work=$keep
else
	work=$(mktemp -d /tmp/sample-verify.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi

mapfile -t patches < <(grep -v -e '^#' -e '^[[:space:]]*$' "$here/series")
[ "${#patches[@]}" -gt 0 ] || die "$here/series lists no patch"

# Scratch clone sharing the cache's objects. Only the files the series touches are checked
# out (sparse), which is all `git am` needs and keeps this fast.
git clone -q --shared --no-checkout "$kernels" "$work/repo"
g=(git -C "$work/repo" -c core.autocrlf=false -c advice.detachedHead=false)
touched=()
for p in "${patches[@]}"; do
	[ -f "$here/$p" ] || die "series lists $p but $here/$p does not exist"
	while IFS= read -r path; do touched+=("/$path"); done < <(
		sed -n -e 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$here/$p")
done
"${g[@]}" sparse-checkout set --no-cone /MAINTAINERS "${touched[@]}"
"${g[@]}" checkout -q -b sample-queue "$base_tag"

# Same identity and dates as the original commits, so the commit ids are reproducible.
ident=(-c user.name="Dovetail Port Sample" -c user.email=sample@dovetail-port.invalid)
for p in "${patches[@]}"; do
	"${g[@]}" "${ident[@]}" am -q --keep-cr --empty=keep --committer-date-is-author-date \
		"$here/$p" || die "git am failed on $p"
done

# Round trip: format-patch of what `git am` built must equal the committed files.
"${g[@]}" format-patch -q --no-signature --zero-commit -o "$work/fp" "$base_tag..HEAD"
mismatch=0
mapfile -t regenerated < <(cd "$work/fp" && ls)
if [ "${#regenerated[@]}" -ne "${#patches[@]}" ]; then
	echo "MISMATCH: format-patch gives ${#regenerated[@]} patches, series lists ${#patches[@]}" >&2
	mismatch=1
fi
for i in "${!patches[@]}"; do
	if ! cmp -s "$here/${patches[$i]}" "$work/fp/${regenerated[$i]:-missing}"; then
		echo "MISMATCH: ${patches[$i]} does not round-trip through git am + format-patch" >&2
		mismatch=1
	fi
done

mapfile -t commits < <("${g[@]}" rev-list --reverse "$base_tag..HEAD")

toml_list() { # toml_list ITEMS... -> ["a", "b"]
	local out="" x
	for x in "$@"; do out+="${out:+, }\"$x\""; done
	printf '[%s]' "$out"
}

blob() { "${g[@]}" rev-parse -q --verify "$1:$2" 2>/dev/null || echo absent; }

ours=$("${g[@]}" rev-parse "$target_tag^{commit}")
entries="$work/entries.toml"
: >"$entries"

for i in "${!commits[@]}"; do
	c=${commits[$i]}
	subject=$("${g[@]}" log -1 --format=%s "$c")
	mapfile -t files < <("${g[@]}" diff-tree --no-commit-id -r --name-only "$c^" "$c")
	conflict_files=()
	renamed_to=""
	if [ "${#files[@]}" -eq 0 ]; then
		verdict=empty
	else
		set +e
		out=$("${g[@]}" merge-tree --write-tree --name-only --no-messages \
			--merge-base="$c^" "$ours" "$c")
		rc=$?
		set -e
		[ "$rc" -le 1 ] || die "git merge-tree failed on ${patches[$i]}"
		tree=$(head -n1 <<<"$out")
		if [ "$rc" -eq 1 ]; then
			verdict=conflict
			mapfile -t conflict_files < <(tail -n +2 <<<"$out" | sed '/^$/d' | sort -u)
		elif [ "$tree" = "$("${g[@]}" rev-parse "$ours^{tree}")" ]; then
			verdict=already-upstream
		else
			verdict=clean
			for f in "${files[@]}"; do
				[ "$(blob "$c^" "$f")" = "$(blob "$ours" "$f")" ] || verdict=merged
			done
			# A touched path the target lacks, while the result changed a path the
			# patch does not name: the merge followed a rename.
			mapfile -t changed < <("${g[@]}" diff-tree -r --name-only "$ours" "$tree")
			for f in "${files[@]}"; do
				[ "$(blob "$ours" "$f")" = absent ] || continue
				[ "$(blob "$c" "$f")" != absent ] || continue
				for q in "${changed[@]}"; do
					case " ${files[*]} " in *" $q "*) continue ;; esac
					renamed_to=$q
				done
			done
			ours=$("${g[@]}" commit-tree "$tree" -p "$ours" -m "$subject")
		fi
	fi
	{
		echo
		echo "[[patch]]"
		echo "file = \"${patches[$i]}\""
		echo "subject = \"$subject\""
		echo "verdict = \"$verdict\""
		echo "files = $(toml_list "${files[@]}")"
		echo "conflict_files = $(toml_list "${conflict_files[@]}")"
		echo "renamed_to = \"$renamed_to\""
	} >>"$entries"
done
{
	echo "base = \"$base_tag\""
	echo "target = \"$target_tag\""
	echo "applied_tree = \"$("${g[@]}" rev-parse 'HEAD^{tree}')\""
	echo "ported_tree = \"$("${g[@]}" rev-parse "$ours^{tree}")\""
	cat "$entries"
} >"$work/actual.toml"

if [ -n "$export_dir" ]; then
	mkdir -p "$export_dir"
	"${g[@]}" archive "$ours" | tar -x -C "$export_dir"
	echo "exported $target_tag + ported patches ($ours) to $export_dir" >&2
fi

if [ "$print_only" -eq 1 ]; then
	cat "$work/actual.toml"
	exit 0
fi

fields='^(base|target|applied_tree|ported_tree|file|subject|verdict|files|conflict_files|renamed_to) ='
expected_fields=$(grep -E "$fields" "$here/expected.toml")
actual_fields=$(grep -E "$fields" "$work/actual.toml")
if [ "$expected_fields" != "$actual_fields" ]; then
	diff -u <(echo "$expected_fields") <(echo "$actual_fields") | sed 's/^/  /' >&2 || true
	echo "MISMATCH: verdicts differ from expected.toml (- expected, + actual)" >&2
	mismatch=1
fi
if [ "$mismatch" -ne 0 ]; then
	exit 1
fi
echo "sample queue OK: ${#patches[@]} patches, git am round trip and all verdicts match expected.toml"
