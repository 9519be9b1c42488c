#!/usr/bin/env python3
# treecmp.py A B [--mtime] [--ignore REGEX]...: compare two trees: type, mode,
# owner, size, content hash, symlink target, xattrs, hard-link groups (mtime opt.)
import os, sys, hashlib, stat, re
args=sys.argv[1:]; mt='--mtime' in args; args=[a for a in args if a!='--mtime']
ign=[]
while '--ignore' in args:
    i=args.index('--ignore'); ign.append(re.compile(args[i+1])); del args[i:i+2]
A,B=args
def walk(top):
    out={}; ino={}
    for d,dirs,files in os.walk(top):
        for n in dirs+files:
            p=os.path.join(d,n); r=p[len(top):]
            if any(x.search(r) for x in ign): continue
            st=os.lstat(p)
            e=[stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid]
            if stat.S_ISREG(st.st_mode):
                h=hashlib.sha256()
                with open(p,'rb') as f:
                    for c in iter(lambda:f.read(1<<20),b''): h.update(c)
                e+= [st.st_size,h.hexdigest()[:16]]
                if st.st_nlink>1: ino.setdefault(st.st_ino,[]).append(r)
            elif stat.S_ISLNK(st.st_mode): e.append('->'+os.readlink(p))
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode): e.append(st.st_rdev)
            try:
                xs=sorted(os.listxattr(p,follow_symlinks=False))
                e.append(tuple((x,os.getxattr(p,x,follow_symlinks=False)) for x in xs))
            except OSError: e.append('xattr-err')
            if mt and not stat.S_ISDIR(st.st_mode) and not stat.S_ISLNK(st.st_mode): e.append(st.st_mtime_ns)
            out[r]=e
    links={}
    for g in ino.values():
        for r in g: links[r]=tuple(sorted(g))
    for r in out:
        if r in links: out[r].append(('links',links[r]))
    return out
a=walk(A); b=walk(B); n=0
for r in sorted(set(a)|set(b)):
    if r not in a: print('only-B',r,b[r]); n+=1
    elif r not in b: print('only-A',r,a[r]); n+=1
    elif a[r]!=b[r]: print('differ',r,'\n   A',a[r],'\n   B',b[r]); n+=1
print('differences:',n,file=sys.stderr)
sys.exit(1 if n else 0)
