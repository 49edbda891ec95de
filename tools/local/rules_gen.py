#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# rules_gen.py: turns rules.tsv into rules_gen.h, so that the classifier's answers come from the table.
import sys

def c_string(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'

def main(src, dst):
    rows, header = [], None
    for n, line in enumerate(open(src, encoding='utf-8'), 1):
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        cols = line.split('\t')
        if header is None:
            header = cols
            if cols[:4] != ['id', 'grade', 'sqlstate', 'message'] or len(cols) != 6:
                sys.exit('%s:%d: unexpected header %r' % (src, n, cols))
            continue
        if len(cols) != 6 or not all(c.strip() for c in cols):
            sys.exit('%s:%d: expected 6 non-empty columns' % (src, n))
        rid, grade, state, msg = cols[:4]
        if grade not in 'RDTIU' or len(grade) != 1:
            sys.exit('%s:%d: grade %r is not one of R D T I U' % (src, n, grade))
        if grade == 'U':
            if state != '-' or msg != '-':
                sys.exit('%s:%d: an undecided rule refuses nothing (- -)' % (src, n))
        elif len(state) != 5 or not all(ch.isdigit() or ch.isupper() for ch in state):
            sys.exit('%s:%d: bad SQLSTATE %r' % (src, n, state))
        if any(r[0] == rid for r in rows):
            sys.exit('%s:%d: duplicate id %s' % (src, n, rid))
        rows.append((rid, grade, state, msg))
    out = ['/* Generated from rules.tsv by rules_gen.py: edit rules.tsv. */',
           '#ifndef DSQL_LOCAL_RULES_GEN_H', '#define DSQL_LOCAL_RULES_GEN_H', '',
           'enum rule_id {']
    out += ['    RULE_%s,' % r[0] for r in rows]
    out += ['    RULE_COUNT', '};', '',
            '#ifdef RULES_GEN_TABLE',
            '/* id, grade, SQLSTATE, message ("-" for undecided rules) */',
            'static const struct rule_row {',
            '    const char *id;', '    char grade;', '    const char *sqlstate;',
            '    const char *message;', '} rule_rows[RULE_COUNT] = {']
    out += ['    [RULE_%s] = {%s, \'%s\', %s, %s},' % (r[0], c_string(r[0]), r[1], c_string(r[2]),
                                                     c_string(r[3])) for r in rows]
    out += ['};', '#endif', '', '#endif', '']
    open(dst, 'w', encoding='utf-8').write('\n'.join(out))

if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
