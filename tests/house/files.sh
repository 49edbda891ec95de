# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# files.sh: the project's own files, for the house checks (sourced after tap.sh). In a git
# checkout that is `git ls-files` (tracked, or new and not ignored); in a tree without git (an
# unpacked release), every file but the build folders (those holding meson-private) and .git.
cd "${DSQLAUTH_SOURCE_ROOT:?}" || bail "no source root"
# tracked: every file of the project, one a line, relative to the top.
tracked() {
    if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        { git ls-files; git ls-files --others --exclude-standard; } | sort -u |
            while IFS= read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done
    else
        local prune=(-name .git)
        for d in */meson-private; do [ -d "$d" ] && prune+=(-o -path "./${d%/meson-private}"); done
        find . \( "${prune[@]}" \) -prune -o -type f -print | sed 's,^\./,,' | sort
    fi
}
