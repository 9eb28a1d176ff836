// Linear attention as flt's Python frontends (and other producers) write
// it, one linalg.generic per op: masked_fill(mask, 0) of the kernel scores
// (a select by a constant mask, float or i1) and a constant RPE mask of low
// rank multiplying them are raised into flt.linear_attention with causal
// and rpe(phi, psi); elu spelled with expm1(min(x, 0)) and feature maps of
// transposed tensors become flt.feature_map.
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// masked_fill(triu(ones, 1), 0.0) on relu kernel scores: the emitter's
// where(cond, 0, a) with a float 0/1 condition compared with 0. The select
// multiplies the scores by the indicator [mask == 0], the causal tril.
// CHECK-LABEL: func.func @causal_masked_fill
// CHECK-DAG: %[[FQ:.*]] = flt.feature_map %{{.*}} {is_query = true, kernel = #flt.kernel<relu>}
// CHECK-DAG: %[[FK:.*]] = flt.feature_map %{{.*}} {kernel = #flt.kernel<relu>}
// CHECK: flt.linear_attention %[[FQ]], %[[FK]], %{{.*}} {causal = true} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x3xf32> -> tensor<1x2x4x3xf32>
// CHECK-NOT: linalg.
// CHECK: return
#id3 = affine_map<(b, l, x) -> (b, l, x)>
#tr3 = affine_map<(b, l, x) -> (b, x, l)>
#sq = affine_map<(b, l, s, x) -> (b, l, x)>
#sk = affine_map<(b, l, s, x) -> (b, s, x)>
#so = affine_map<(b, l, s, x) -> (b, l, s)>
#ls = affine_map<(b, l, s) -> (l, s)>
#pp = affine_map<(b, l, e, s) -> (b, l, s)>
#pv = affine_map<(b, l, e, s) -> (b, s, e)>
#po = affine_map<(b, l, e, s) -> (b, l, e)>
#row = affine_map<(b, l, s) -> (b, l)>
#den = affine_map<(b, l, e) -> (b, l)>
func.func @causal_masked_fill(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %triu = arith.constant dense<[[0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %efq = tensor.empty() : tensor<2x4x8xf32>
  %fq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x4x8xf32>) outs(%efq : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %efk = tensor.empty() : tensor<2x4x8xf32>
  %fk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<2x4x8xf32>) outs(%efk : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %ss = tensor.empty() : tensor<2x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%ss : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [#sq, #sk, #so], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<2x4x8xf32>, tensor<2x4x8xf32>) outs(%zs : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %att = linalg.generic {indexing_maps = [#ls, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%triu, %s : tensor<4x4xf32>, tensor<2x4x4xf32>) outs(%ss : tensor<2x4x4xf32>) {
  ^bb0(%m: f32, %x: f32, %o: f32):
    %c = arith.cmpf une, %m, %zero : f32
    %r = arith.select %c, %zero, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %ev = tensor.empty() : tensor<2x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  %n = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%att, %v : tensor<2x4x4xf32>, tensor<2x4x3xf32>) outs(%zv : tensor<2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3xf32>
  %ed = tensor.empty() : tensor<2x4xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%ed : tensor<2x4xf32>) -> tensor<2x4xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%att : tensor<2x4x4xf32>) outs(%zd : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %out = linalg.generic {indexing_maps = [#id3, #den, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %d : tensor<2x4x3xf32>, tensor<2x4xf32>) outs(%ev : tensor<2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %eps = arith.constant 1.0e-06 : f32
    %de = arith.addf %b, %eps : f32
    %r = arith.divf %a, %de : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3xf32>
  return %out : tensor<2x4x3xf32>
}

// -----

// where(tril, scores, 0) with an i1 constant: the indicator [mask] is the
// causal tril.
// CHECK-LABEL: func.func @causal_where_i1
// CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true}
// CHECK-NOT: linalg.
// CHECK: return
#id3 = affine_map<(b, l, x) -> (b, l, x)>
#tr3 = affine_map<(b, l, x) -> (b, x, l)>
#sq = affine_map<(b, l, s, x) -> (b, l, x)>
#sk = affine_map<(b, l, s, x) -> (b, s, x)>
#so = affine_map<(b, l, s, x) -> (b, l, s)>
#ls = affine_map<(b, l, s) -> (l, s)>
#pp = affine_map<(b, l, e, s) -> (b, l, s)>
#pv = affine_map<(b, l, e, s) -> (b, s, e)>
#po = affine_map<(b, l, e, s) -> (b, l, e)>
#row = affine_map<(b, l, s) -> (b, l)>
#den = affine_map<(b, l, e) -> (b, l)>
func.func @causal_where_i1(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %tril = arith.constant dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %efq = tensor.empty() : tensor<2x4x8xf32>
  %fq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x4x8xf32>) outs(%efq : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %efk = tensor.empty() : tensor<2x4x8xf32>
  %fk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<2x4x8xf32>) outs(%efk : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %ss = tensor.empty() : tensor<2x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%ss : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [#sq, #sk, #so], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<2x4x8xf32>, tensor<2x4x8xf32>) outs(%zs : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %att = linalg.generic {indexing_maps = [#ls, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%tril, %s : tensor<4x4xi1>, tensor<2x4x4xf32>) outs(%ss : tensor<2x4x4xf32>) {
  ^bb0(%m: i1, %x: f32, %o: f32):
    %r = arith.select %m, %x, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %ev = tensor.empty() : tensor<2x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  %n = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%att, %v : tensor<2x4x4xf32>, tensor<2x4x3xf32>) outs(%zv : tensor<2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3xf32>
  %ed = tensor.empty() : tensor<2x4xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%ed : tensor<2x4xf32>) -> tensor<2x4xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%att : tensor<2x4x4xf32>) outs(%zd : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %out = linalg.generic {indexing_maps = [#id3, #den, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %d : tensor<2x4x3xf32>, tensor<2x4xf32>) outs(%ev : tensor<2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %eps = arith.constant 1.0e-06 : f32
    %de = arith.addf %b, %eps : f32
    %r = arith.divf %a, %de : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3xf32>
  return %out : tensor<2x4x3xf32>
}

// -----

// The kernel scores times a constant RPE mask M[l, s] = cos(0.3 (l - s))
// (code that computed M from features of fixed positions; rank 2 of 8) are
// raised with M factored back into phi [8, 2] psi^T, broadcast over the
// batch: rpe(phi, psi).
// CHECK-LABEL: func.func @low_rank_rpe_mask
// M is symmetric, so phi and psi are one constant.
// CHECK: %[[T:.*]] = arith.constant dense<{{.*}}> : tensor<8x2xf32>
// CHECK: %[[PHI:.*]] = linalg.broadcast ins(%[[T]] : tensor<8x2xf32>) outs(%{{.*}} : tensor<2x8x2xf32>) dimensions = [0]
// CHECK: %[[PHI4:.*]] = tensor.expand_shape %[[PHI]]
// CHECK: %[[PSI:.*]] = linalg.broadcast ins(%[[T]] : tensor<8x2xf32>) outs(%{{.*}} : tensor<2x8x2xf32>) dimensions = [0]
// CHECK: %[[PSI4:.*]] = tensor.expand_shape %[[PSI]]
// CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} rpe(%[[PHI4]], %[[PSI4]]) : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x3xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32> -> tensor<1x2x8x3xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
#id3 = affine_map<(b, l, x) -> (b, l, x)>
#tr3 = affine_map<(b, l, x) -> (b, x, l)>
#sq = affine_map<(b, l, s, x) -> (b, l, x)>
#sk = affine_map<(b, l, s, x) -> (b, s, x)>
#so = affine_map<(b, l, s, x) -> (b, l, s)>
#ls = affine_map<(b, l, s) -> (l, s)>
#pp = affine_map<(b, l, e, s) -> (b, l, s)>
#pv = affine_map<(b, l, e, s) -> (b, s, e)>
#po = affine_map<(b, l, e, s) -> (b, l, e)>
#row = affine_map<(b, l, s) -> (b, l)>
#den = affine_map<(b, l, e) -> (b, l)>
func.func @low_rank_rpe_mask(%q: tensor<2x8x8xf32>, %k: tensor<2x8x8xf32>, %v: tensor<2x8x3xf32>) -> tensor<2x8x3xf32> {
  %zero = arith.constant 0.0 : f32
  %mask = arith.constant dense<[[1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765, 0.070737198, -0.227202088, -0.504846096], [0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765, 0.070737198, -0.227202088], [0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765, 0.070737198], [0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765], [0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986], [0.070737198, 0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622], [-0.227202088, 0.070737198, 0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511], [-0.504846096, -0.227202088, 0.070737198, 0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0]]> : tensor<8x8xf32>
  %efq = tensor.empty() : tensor<2x8x8xf32>
  %fq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x8x8xf32>) outs(%efq : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %efk = tensor.empty() : tensor<2x8x8xf32>
  %fk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<2x8x8xf32>) outs(%efk : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %ss = tensor.empty() : tensor<2x8x8xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%ss : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#sq, #sk, #so], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<2x8x8xf32>, tensor<2x8x8xf32>) outs(%zs : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %att = linalg.generic {indexing_maps = [#ls, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %s : tensor<8x8xf32>, tensor<2x8x8xf32>) outs(%ss : tensor<2x8x8xf32>) {
  ^bb0(%m: f32, %x: f32, %o: f32):
    %r = arith.mulf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %ev = tensor.empty() : tensor<2x8x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x8x3xf32>) -> tensor<2x8x3xf32>
  %n = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%att, %v : tensor<2x8x8xf32>, tensor<2x8x3xf32>) outs(%zv : tensor<2x8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x8x3xf32>
  %ed = tensor.empty() : tensor<2x8xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%ed : tensor<2x8xf32>) -> tensor<2x8xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%att : tensor<2x8x8xf32>) outs(%zd : tensor<2x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
  %out = linalg.generic {indexing_maps = [#id3, #den, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %d : tensor<2x8x3xf32>, tensor<2x8xf32>) outs(%ev : tensor<2x8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %eps = arith.constant 1.0e-06 : f32
    %de = arith.addf %b, %eps : f32
    %r = arith.divf %a, %de : f32
    linalg.yield %r : f32
  } -> tensor<2x8x3xf32>
  return %out : tensor<2x8x3xf32>
}

// -----

// Both: the RPE mask and masked_fill(triu(ones, 1), 0).
// CHECK-LABEL: func.func @causal_low_rank_rpe_mask
// CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} rpe(%{{.*}}, %{{.*}}) {causal = true}
// CHECK-NOT: linalg.generic
// CHECK: return
#id3 = affine_map<(b, l, x) -> (b, l, x)>
#tr3 = affine_map<(b, l, x) -> (b, x, l)>
#sq = affine_map<(b, l, s, x) -> (b, l, x)>
#sk = affine_map<(b, l, s, x) -> (b, s, x)>
#so = affine_map<(b, l, s, x) -> (b, l, s)>
#ls = affine_map<(b, l, s) -> (l, s)>
#pp = affine_map<(b, l, e, s) -> (b, l, s)>
#pv = affine_map<(b, l, e, s) -> (b, s, e)>
#po = affine_map<(b, l, e, s) -> (b, l, e)>
#row = affine_map<(b, l, s) -> (b, l)>
#den = affine_map<(b, l, e) -> (b, l)>
func.func @causal_low_rank_rpe_mask(%q: tensor<2x8x8xf32>, %k: tensor<2x8x8xf32>, %v: tensor<2x8x3xf32>) -> tensor<2x8x3xf32> {
  %zero = arith.constant 0.0 : f32
  %mask = arith.constant dense<[[1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765, 0.070737198, -0.227202088, -0.504846096], [0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765, 0.070737198, -0.227202088], [0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765, 0.070737198], [0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986, 0.362357765], [0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622, 0.621609986], [0.070737198, 0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511, 0.825335622], [-0.227202088, 0.070737198, 0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0, 0.955336511], [-0.504846096, -0.227202088, 0.070737198, 0.362357765, 0.621609986, 0.825335622, 0.955336511, 1.0]]> : tensor<8x8xf32>
  %triu = arith.constant dense<[[0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]> : tensor<8x8xf32>
  %efq = tensor.empty() : tensor<2x8x8xf32>
  %fq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x8x8xf32>) outs(%efq : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %efk = tensor.empty() : tensor<2x8x8xf32>
  %fk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<2x8x8xf32>) outs(%efk : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %ss = tensor.empty() : tensor<2x8x8xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%ss : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#sq, #sk, #so], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<2x8x8xf32>, tensor<2x8x8xf32>) outs(%zs : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %m1 = linalg.generic {indexing_maps = [#ls, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %s : tensor<8x8xf32>, tensor<2x8x8xf32>) outs(%ss : tensor<2x8x8xf32>) {
  ^bb0(%m: f32, %x: f32, %o: f32):
    %r = arith.mulf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %att = linalg.generic {indexing_maps = [#ls, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%triu, %m1 : tensor<8x8xf32>, tensor<2x8x8xf32>) outs(%ss : tensor<2x8x8xf32>) {
  ^bb0(%m: f32, %x: f32, %o: f32):
    %c = arith.cmpf une, %m, %zero : f32
    %r = arith.select %c, %zero, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %ev = tensor.empty() : tensor<2x8x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x8x3xf32>) -> tensor<2x8x3xf32>
  %n = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%att, %v : tensor<2x8x8xf32>, tensor<2x8x3xf32>) outs(%zv : tensor<2x8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x8x3xf32>
  %ed = tensor.empty() : tensor<2x8xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%ed : tensor<2x8xf32>) -> tensor<2x8xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%att : tensor<2x8x8xf32>) outs(%zd : tensor<2x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
  %out = linalg.generic {indexing_maps = [#id3, #den, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %d : tensor<2x8x3xf32>, tensor<2x8xf32>) outs(%ev : tensor<2x8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %eps = arith.constant 1.0e-06 : f32
    %de = arith.addf %b, %eps : f32
    %r = arith.divf %a, %de : f32
    linalg.yield %r : f32
  } -> tensor<2x8x3xf32>
  return %out : tensor<2x8x3xf32>
}

// -----

// A 0/1 band mask (|l - s| <= 1) has full rank: no flt op takes it.
// CHECK-LABEL: func.func @band_mask
// CHECK-NOT: flt.
// CHECK: return
#id3 = affine_map<(b, l, x) -> (b, l, x)>
#tr3 = affine_map<(b, l, x) -> (b, x, l)>
#sq = affine_map<(b, l, s, x) -> (b, l, x)>
#sk = affine_map<(b, l, s, x) -> (b, s, x)>
#so = affine_map<(b, l, s, x) -> (b, l, s)>
#ls = affine_map<(b, l, s) -> (l, s)>
#pp = affine_map<(b, l, e, s) -> (b, l, s)>
#pv = affine_map<(b, l, e, s) -> (b, s, e)>
#po = affine_map<(b, l, e, s) -> (b, l, e)>
#row = affine_map<(b, l, s) -> (b, l)>
#den = affine_map<(b, l, e) -> (b, l)>
func.func @band_mask(%q: tensor<2x8x8xf32>, %k: tensor<2x8x8xf32>, %v: tensor<2x8x3xf32>) -> tensor<2x8x3xf32> {
  %zero = arith.constant 0.0 : f32
  %band = arith.constant dense<[[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]]> : tensor<8x8xf32>
  %efq = tensor.empty() : tensor<2x8x8xf32>
  %fq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x8x8xf32>) outs(%efq : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %efk = tensor.empty() : tensor<2x8x8xf32>
  %fk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<2x8x8xf32>) outs(%efk : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %ss = tensor.empty() : tensor<2x8x8xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%ss : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = linalg.generic {indexing_maps = [#sq, #sk, #so], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<2x8x8xf32>, tensor<2x8x8xf32>) outs(%zs : tensor<2x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %att = linalg.generic {indexing_maps = [#ls, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%band, %s : tensor<8x8xf32>, tensor<2x8x8xf32>) outs(%ss : tensor<2x8x8xf32>) {
  ^bb0(%m: f32, %x: f32, %o: f32):
    %r = arith.mulf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %ev = tensor.empty() : tensor<2x8x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x8x3xf32>) -> tensor<2x8x3xf32>
  %n = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%att, %v : tensor<2x8x8xf32>, tensor<2x8x3xf32>) outs(%zv : tensor<2x8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x8x3xf32>
  %ed = tensor.empty() : tensor<2x8xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%ed : tensor<2x8xf32>) -> tensor<2x8xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%att : tensor<2x8x8xf32>) outs(%zd : tensor<2x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x8xf32>
  %out = linalg.generic {indexing_maps = [#id3, #den, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %d : tensor<2x8x3xf32>, tensor<2x8xf32>) outs(%ev : tensor<2x8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %eps = arith.constant 1.0e-06 : f32
    %de = arith.addf %b, %eps : f32
    %r = arith.divf %a, %de : f32
    linalg.yield %r : f32
  } -> tensor<2x8x3xf32>
  return %out : tensor<2x8x3xf32>
}

// -----

// elu(x) + 1 as the Python frontend emits elu, select(x > 0, x, 1.0 *
// expm1(min(x, 0))), of q and k transposed from [b, d, l] by a generic of
// their own: the feature maps read the transposed tensors.
// CHECK-LABEL: func.func @elu_of_transposed
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x8x4xf32>, %[[K:[^:]*]]: tensor<2x8x4xf32>
// CHECK: %[[TQ:.*]] = linalg.generic {{.*}} ins(%[[Q]] : tensor<2x8x4xf32>)
// CHECK: %[[TK:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<2x8x4xf32>)
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[TQ]]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[TK]]
// CHECK-DAG: %[[FQ:.*]] = flt.feature_map %[[Q4]] {is_query = true, kernel = #flt.kernel<elu_plus_one>}
// CHECK-DAG: %[[FK:.*]] = flt.feature_map %[[K4]] {kernel = #flt.kernel<elu_plus_one>}
// CHECK: flt.linear_attention %[[FQ]], %[[FK]]
// CHECK: return
#id3 = affine_map<(b, l, x) -> (b, l, x)>
#tr3 = affine_map<(b, l, x) -> (b, x, l)>
#sq = affine_map<(b, l, s, x) -> (b, l, x)>
#sk = affine_map<(b, l, s, x) -> (b, s, x)>
#so = affine_map<(b, l, s, x) -> (b, l, s)>
#ls = affine_map<(b, l, s) -> (l, s)>
#pp = affine_map<(b, l, e, s) -> (b, l, s)>
#pv = affine_map<(b, l, e, s) -> (b, s, e)>
#po = affine_map<(b, l, e, s) -> (b, l, e)>
#row = affine_map<(b, l, s) -> (b, l)>
#den = affine_map<(b, l, e) -> (b, l)>
func.func @elu_of_transposed(%q: tensor<2x8x4xf32>, %k: tensor<2x8x4xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e8 = tensor.empty() : tensor<2x4x8xf32>
  %tfq = linalg.generic {indexing_maps = [#tr3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x8x4xf32>) outs(%e8 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x4x8xf32>
  %ufq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%tfq : tensor<2x4x8xf32>) outs(%e8 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %m = arith.minimumf %a, %zero : f32
    %x = math.expm1 %m : f32
    %n = arith.mulf %one, %x : f32
    %p = arith.cmpf ogt, %a, %zero : f32
    %r = arith.select %p, %a, %n : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %fq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ufq : tensor<2x4x8xf32>) outs(%e8 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.addf %a, %one : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %tfk = linalg.generic {indexing_maps = [#tr3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<2x8x4xf32>) outs(%e8 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<2x4x8xf32>
  %ufk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%tfk : tensor<2x4x8xf32>) outs(%e8 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %m = arith.minimumf %a, %zero : f32
    %x = math.expm1 %m : f32
    %n = arith.mulf %one, %x : f32
    %p = arith.cmpf ogt, %a, %zero : f32
    %r = arith.select %p, %a, %n : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %fk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ufk : tensor<2x4x8xf32>) outs(%e8 : tensor<2x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.addf %a, %one : f32
    linalg.yield %r : f32
  } -> tensor<2x4x8xf32>
  %ss = tensor.empty() : tensor<2x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%ss : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [#sq, #sk, #so], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<2x4x8xf32>, tensor<2x4x8xf32>) outs(%zs : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x4x4xf32>
  %ev = tensor.empty() : tensor<2x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  %n = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%s, %v : tensor<2x4x4xf32>, tensor<2x4x3xf32>) outs(%zv : tensor<2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3xf32>
  %ed = tensor.empty() : tensor<2x4xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%ed : tensor<2x4xf32>) -> tensor<2x4xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<2x4x4xf32>) outs(%zd : tensor<2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %out = linalg.generic {indexing_maps = [#id3, #den, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %d : tensor<2x4x3xf32>, tensor<2x4xf32>) outs(%ev : tensor<2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %eps = arith.constant 1.0e-06 : f32
    %de = arith.addf %b, %eps : f32
    %r = arith.divf %a, %de : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3xf32>
  return %out : tensor<2x4x3xf32>
}
