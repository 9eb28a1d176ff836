# Every size dynamic (B, H, L, d, e, m_f, P, the projection), causal and
# FAVOR+ layers, L = 1 and L = 0; a dynamic theta width that is not a
# multiple of p + 2 is refused at run time.
# RUN: %python %s

import numpy as np
from flt import reference
from flt_harness import (Library, check, expect, finish, func, mixture_theta,
                         normal, positions, rng)
Q="tensor<?x?x?x?xf32>"; R="tensor<?x?x1xf32>"; XI="tensor<?x?x1xf32>"; TH="tensor<?x?xf32>"
fns=[func("dyn",[("q",Q),("k",Q),("v",Q),("r",R),("xi",XI),("th",TH)],
  [f"%o = flt.attention %q, %k, %v, %r, %xi, %th {{kernel = #flt.kernel<elu_plus_one>, spectrum = #flt.spectrum<gaussian_mixture>, causal = true}} : {Q}, {Q}, {Q}, {R}, {XI}, {TH} -> {Q}"],[("%o",Q)]),
     func("dynw",[("q",Q),("k",Q),("v",Q),("r",R),("xi",XI),("th",TH),("w","tensor<?x?x?xf32>")],
  [f"%o = flt.attention %q, %k, %v, %r, %xi, %th proj(%w) {{kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>}} : {Q}, {Q}, {Q}, {R}, {XI}, {TH}, tensor<?x?x?xf32> -> {Q}"],[("%o",Q)])]
lib=Library(fns)
g=rng(0)
for (B,H,L,d,e,mf) in [(2,3,37,5,7,3),(1,1,1,4,4,1),(1,2,0,4,4,2)]:
    q=normal(g,(B,H,L,d)); k=normal(g,(B,H,L,d)); v=normal(g,(B,H,L,d))
    r=positions(g,B,L,1); xi=normal(g,(H,mf,1)); th=mixture_theta(g,H,1,2)
    out=lib.run("dyn",[q,k,v,r,xi,th])[0]
    if L: check(f"dyn {B,H,L,d,mf}", out, reference.attention(q,k,v,r,xi,th,"elu_plus_one","gaussian_mixture",causal=True))
    else: expect("L=0 shape", out.shape==(B,H,0,d))
    w=normal(g,(H,6,d))
    out=lib.run("dynw",[q,k,v,r,xi,th,w])[0]
    if L: check(f"dynw {B,H,L,d,mf}", out, reference.attention(q,k,v,r,xi,th,"favor_pos","gaussian_mixture",w=w))
    else: expect("L=0 shape w", out.shape==(B,H,0,d))
q = normal(g, (1, 2, 5, 4))
try:
    lib.run("dyn", [q, q, q, positions(g, 1, 5, 1), normal(g, (2, 3, 1)),
                    normal(g, (2, 7))])
    expect("theta width 7 refused", False)
except RuntimeError as error:
    expect("theta width 7 refused", "multiple of p + 2" in str(error),
           str(error).strip())
finish()
