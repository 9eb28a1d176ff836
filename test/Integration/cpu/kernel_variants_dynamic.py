# Odd combinations: every size dynamic with an explicit temperature, bias
# and rpe together, FourierFormer with power 3, the causal FFT Toeplitz
# method on bf16, rotary halves with dynamic d.
# RUN: %python %s

import numpy as np
from flt import reference
from flt_harness import Library, check, finish, func, normal, positive, rng, rounded
Q="tensor<?x?x?x?xf32>"; B2="tensor<?x?xf32>"; QB="tensor<?x?x?x?xbf16>"
fns=[func("soft_dyn",[("q",Q),("k",Q),("v",Q),("b",B2),("phi",Q),("psi",Q)],[f"%o = flt.kernel_attention %q, %k, %v bias(%b) rpe(%phi, %psi) {{causal = true, temperature = 0.25 : f32}} : {Q}, {Q}, {Q}, {B2}, {Q}, {Q} -> {Q}"],[("%o",Q)]),
     func("fi_dyn",[("q",Q),("k",Q),("v",Q),("R",B2)],[f"%o = flt.kernel_attention %q, %k, %v scale(%R) {{kernel = #flt.pair_kernel<fourier_integral>, power = 3}} : {Q}, {Q}, {Q}, {B2} -> {Q}"],[("%o",Q)]),
     func("tz_fft_bf16",[("q",QB),("k",QB),("v",QB),("b",B2)],[f"%o = flt.toeplitz_attention %q, %k, %v, %b {{method = #flt.toeplitz_method<fft>, causal = true}} : {QB}, {QB}, {QB}, {B2} -> {QB}"],[("%o",QB)]),
     func("pt_dyn",[("x",Q),("t",B2)],[f"%o = flt.position_transform %x, %t {{core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>}} : {Q}, {B2} -> {Q}"],[("%o",Q)])]
lib=Library(fns); g=rng(0)
B,H,L,S,d,e,r=2,3,37,37,6,5,4
q=normal(g,(B,H,L,d)); k=normal(g,(B,H,S,d)); v=normal(g,(B,H,S,e)); b=normal(g,(H,L+S-1)); phi=positive(g,(B,H,L,r)); psi=positive(g,(B,H,S,r))
check("softmax dyn", lib.run("soft_dyn",[q,k,v,b,phi,psi])[0], reference.kernel_attention(q,k,v,"softmax",None,b,phi,psi,True,0.25))
R=g.uniform(.5,1.5,(H,d)).astype(np.float32)
check("fourier dyn p3", lib.run("fi_dyn",[q,k,v,R])[0], reference.kernel_attention(q,k,v,"fourier_integral",R,power=3))
fq=positive(g,(B,H,L,d)); fk=positive(g,(B,H,L,d)); vv=normal(g,(B,H,L,e)); bb=normal(g,(H,2*L-1))
check("toeplitz fft bf16", lib.run("tz_fft_bf16",[fq,fk,vv,bb])[0], reference.toeplitz_attention(*(rounded(x,"bf16") for x in (fq,fk,vv)),bb,True), "bf16")
th=normal(g,(H,d//2))
check("rotary halves dyn", lib.run("pt_dyn",[q,th])[0], reference.position_transform(q,th,"rotary",pairing="halves"))
finish()
