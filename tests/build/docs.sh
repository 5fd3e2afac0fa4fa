#!/bin/sh
# The documents cite only files that exist: every relative link of every
# Markdown file resolves, no document names the PROTOCOL.md that the
# project does not have (docs/protocol.md is the contract), the README's
# file table names every daemon source file, and LICENSE carries the MIT
# text.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
status=0
fail() {
	echo "FAIL: $*" >&2
	status=1
}

files=$(git ls-files --cached --others --exclude-standard)

# Every relative link target of a Markdown file exists.
for md in $(printf '%s\n' "$files" | grep '\.md$'); do
	[ -f "$md" ] || continue
	dir=$(dirname "$md")
	for target in $(grep -o '](\([^)#]*\)' "$md" | sed 's/^](//'); do
		case $target in
		http://* | https://* | mailto:* | '') continue ;;
		esac
		[ -e "$dir/$target" ] || fail "$md links to missing $target"
	done
done

# No document (Markdown, manual page, the CLI's help) cites a PROTOCOL.md.
hits=$(printf '%s\n' "$files" |
    grep -E '\.md$|^docs/|^client/crmpubsub-cli$' |
    while IFS= read -r f; do
	[ -f "$f" ] && grep -l 'PROTOCOL\.md' "$f" 2>/dev/null
    done)
[ -z "$hits" ] || fail "PROTOCOL.md is cited by:" $hits

# The README's table names every daemon source file.
for c in daemon/*.c; do
	grep -q "$(basename "$c")" README.md ||
		fail "README.md does not list $c"
done

# The licence the SPDX headers name.
grep -q '^MIT License' LICENSE 2>/dev/null &&
    grep -q 'Permission is hereby granted, free of charge' LICENSE ||
	fail "LICENSE is missing or not the MIT text"

[ "$status" = 0 ] && echo "PASS: the documents cite files that exist"
exit $status
