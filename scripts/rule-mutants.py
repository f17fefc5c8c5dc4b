#!/usr/bin/env python3
"""Mutation check of the rule unit tests: breaks each shipped rule one way at a time (drops
`min_events`, `for`, `keep_firing_for` or the `when` clauses after the first, scales the
threshold or the window, swaps ratio and wilson_lower) and runs that pack's tests
(tests/rules/<stage>_<file>.yaml). A mutant whose tests still pass "survives": the tests
cannot tell the broken rule from the shipped one.

Works on a copy in a temporary directory; the repository is not modified.
Usage: scripts/rule-mutants.py [LLMWATCH_BINARY [ROOT]]
  LLMWATCH_BINARY  default: $CARGO_TARGET_DIR (else target)/release/llmwatch
  ROOT             a checkout holding rules/ and tests/rules/ (default: this repository),
                   e.g. an older revision from `git archive REV rules tests/rules | tar -x -C DIR`
Adapted from the reviewer's mutate.py."""
import glob, os, re, shutil, subprocess, sys, tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(os.environ.get('CARGO_TARGET_DIR', os.path.join(REPO, 'target')), 'release', 'llmwatch')
ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else REPO

def field(line, key):
    """Whether `line` is the rule's own `key:` (not a line of a folded description)."""
    return re.match(rf'^    {key}:', line) is not None

def scale_cond(line, f):
    m = re.match(r'(\s*condition: ")(\S+) ([0-9.]+)(")', line)
    return f'{m.group(1)}{m.group(2)} {float(m.group(3)) * f:g}{m.group(4)}\n'

def dur(line, f):
    m = re.match(r'(\s*window: )(\d+)([smhd])', line)
    return f'{m.group(1)}{int(int(m.group(2)) * f) or 1}{m.group(3)}\n'

MUTATIONS = {
    'drop min_events': lambda l: None if field(l, 'min_events') else l,
    'drop for': lambda l: None if field(l, 'for') else l,
    'drop keep_firing_for': lambda l: None if field(l, 'keep_firing_for') else l,
    'threshold x0.5': lambda l: scale_cond(l, 0.5) if field(l, 'condition') else l,
    'threshold x1.5': lambda l: scale_cond(l, 1.5) if field(l, 'condition') else l,
    'when: only first clause': lambda l: re.sub(r'(when: [^&]*?)\s*&&.*', r'\1', l) if field(l, 'when') else l,
    'window x2': lambda l: dur(l, 2) if field(l, 'window') else l,
    'window x0.5': lambda l: dur(l, 0.5) if field(l, 'window') else l,
    'wilson->ratio': lambda l: l.replace('wilson_lower(', 'ratio(') if field(l, 'value') else l,
    'ratio->wilson': lambda l: l.replace('value: ratio(', 'value: wilson_lower(') if field(l, 'value') else l,
}

def main():
    work = tempfile.mkdtemp(prefix='rule-mutants-')
    shutil.copytree(os.path.join(ROOT, 'rules'), os.path.join(work, 'rules'))
    shutil.copytree(os.path.join(ROOT, 'tests', 'rules'), os.path.join(work, 'tests', 'rules'))
    os.chdir(work)
    survivors = total = 0
    for f in sorted(glob.glob('rules/*/*.yaml')):
        stage, name = f.split('/')[-2], os.path.basename(f)
        test = f'tests/rules/{stage}_{name}'
        text = open(f).read()
        blocks = re.split(r'(?m)^(?=  - name: )', text)
        for bi in range(1, len(blocks)):
            rname = re.match(r'  - name: (\S+)', blocks[bi]).group(1)
            for mname, mf in MUTATIONS.items():
                lines = blocks[bi].splitlines(True)
                new = [x for x in (mf(l) for l in lines) if x is not None]
                if new == lines:
                    continue
                nb = blocks[:]
                nb[bi] = ''.join(new)
                open(f, 'w').write(''.join(nb))
                total += 1
                r = subprocess.run([BIN, 'rules', 'test', test], capture_output=True, text=True)
                if r.returncode == 0:
                    survivors += 1
                    print(f'SURVIVES  {rname:32s} {mname}', flush=True)
                open(f, 'w').write(text)
    print(f'{survivors} of {total} mutants survive')
    shutil.rmtree(work)

if __name__ == '__main__':
    main()
