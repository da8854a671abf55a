# Summarizes a log of tools/bench/ab_quant_matmul.sh: per shape and M, each variant's NF4 ÷ f32 ratios
# (wall best, CPU median, as quant-matmul prints them) as min–max (median) over the rounds.
# Usage: python3 tools/bench/summarize_ab_quant_matmul.py LOG
import re,sys,collections
# ratio table per variant: shape, M -> list of (wall ratio, cpu ratio)
d=collections.defaultdict(lambda: collections.defaultdict(list))
var=None
for line in open(sys.argv[1]):
    m=re.match(r'== round \d+: (\S+)',line)
    if m: var=m.group(1); continue
    if line.startswith('| '):
        c=[x.strip() for x in line.strip().strip('|').split('|')]
        shape=c[0].split()[0]; M=int(c[1])
        w,cp=[float(x.rstrip('×')) for x in c[3].split(',')]
        d[(shape,M)][var].append((w,cp))
vars_=[]
for k in d:
    for v in d[k]:
        if v not in vars_: vars_.append(v)
print('| shape | M | '+' | '.join(f'{v}: wall (min–max, median); CPU (min–max, median)' for v in vars_)+' |')
for k in sorted(d,key=lambda k:(['gate/up','down','q/o','k/v'].index(k[0]),k[1])):
    cells=[]
    for v in vars_:
        xs=d[k][v]
        if not xs: cells.append('');continue
        ws=sorted(x[0] for x in xs); cs=sorted(x[1] for x in xs)
        med=lambda a:a[len(a)//2]
        cells.append(f'{ws[0]:.2f}–{ws[-1]:.2f} ({med(ws):.2f}); {cs[0]:.2f}–{cs[-1]:.2f} ({med(cs):.2f})')
    print(f'| {k[0]} | {k[1]} | '+' | '.join(cells)+' |')
