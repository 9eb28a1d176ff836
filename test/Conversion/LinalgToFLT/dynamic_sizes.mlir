// flt-raise-attention on IR with dynamic sizes, as the Python frontends
// write it when asked to keep B and L dynamic (test/python/
// frontend_dynamic.py runs the same models end to end).
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// A causal mask multiplying linear-attention scores at a dynamic length: the
// frontends compute tril(ones(L, L)) from its indices (an index table),
// which is read like the constant mask it replaces.
// CHECK-LABEL: func.func @causal_linear
// CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, eps = 0.000000e+00 : f32} : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map3 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map5 = affine_map<(d0, d1) -> (d0, d1)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#map7 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map8 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  func.func @causal_linear(%arg0: tensor<1x2x?x8xf32>, %arg1: tensor<1x2x?x8xf32>, %arg2: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x8xf32>
    %0 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x?x8xf32>) outs(%0 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_2 = arith.constant 0.000000e+00 : f32
      %21 = arith.maximumf %in, %cst_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x8xf32>
    %2 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg1 : tensor<1x2x?x8xf32>) outs(%2 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_2 = arith.constant 0.000000e+00 : f32
      %21 = arith.maximumf %in, %cst_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x8xf32>
    %4 = tensor.empty(%dim) : tensor<1x2x8x?xf32>
    %5 = linalg.generic {indexing_maps = [#map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3 : tensor<1x2x?x8xf32>) outs(%4 : tensor<1x2x8x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x8x?xf32>
    %6 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %7 = linalg.fill ins(%cst : f32) outs(%6 : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
    %8 = linalg.generic {indexing_maps = [#map2, #map3, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%1, %5 : tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) outs(%7 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.mulf %in, %in_2 : f32
      %22 = arith.addf %out, %21 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x?x?xf32>
    %9 = tensor.empty(%dim, %dim) : tensor<?x?xf32>
    %10 = linalg.generic {indexing_maps = [#map5], iterator_types = ["parallel", "parallel"]} outs(%9 : tensor<?x?xf32>) {
    ^bb0(%out: f32):
      %21 = linalg.index 0 : index
      %22 = linalg.index 1 : index
      %23 = arith.subi %22, %21 : index
      %c0 = arith.constant 0 : index
      %24 = arith.cmpi sle, %23, %c0 : index
      %cst_2 = arith.constant 1.000000e+00 : f32
      %cst_3 = arith.constant 0.000000e+00 : f32
      %25 = arith.select %24, %cst_2, %cst_3 : f32
      linalg.yield %25 : f32
    } -> tensor<?x?xf32>
    %11 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8, %10 : tensor<1x2x?x?xf32>, tensor<?x?xf32>) outs(%11 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.mulf %in, %in_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x?xf32>
    %13 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %14 = linalg.fill ins(%cst_0 : f32) outs(%13 : tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
    %15 = linalg.generic {indexing_maps = [#map2, #map3, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%12, %arg2 : tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) outs(%14 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.mulf %in, %in_2 : f32
      %22 = arith.addf %out, %21 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x?x8xf32>
    %16 = tensor.empty(%dim) : tensor<1x2x?xf32>
    %cst_1 = arith.constant 0.000000e+00 : f32
    %17 = linalg.fill ins(%cst_1 : f32) outs(%16 : tensor<1x2x?xf32>) -> tensor<1x2x?xf32>
    %18 = linalg.generic {indexing_maps = [#map, #map7], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%12 : tensor<1x2x?x?xf32>) outs(%17 : tensor<1x2x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %21 = arith.addf %out, %in : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?xf32>
    %expanded = tensor.expand_shape %18 [[0], [1], [2, 3]] output_shape [1, 2, %dim, 1] : tensor<1x2x?xf32> into tensor<1x2x?x1xf32>
    %19 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %20 = linalg.generic {indexing_maps = [#map, #map8, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15, %expanded : tensor<1x2x?x8xf32>, tensor<1x2x?x1xf32>) outs(%19 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.divf %in, %in_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x8xf32>
    return %20 : tensor<1x2x?x8xf32>
  }
}

// -----

// masked_fill(triu(ones(L, L), 1), -inf) at a dynamic length: a select by
// an index table.
// CHECK-LABEL: func.func @causal_softmax
// CHECK: flt.kernel_attention %arg0, %arg1, %arg2 {causal = true, temperature = 1.000000e+00 : f32} : tensor<1x2x?x8xf32>
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#map7 = affine_map<(d0, d1, d2, d3) -> (0)>
#map8 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map9 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  func.func @causal_softmax(%arg0: tensor<1x2x?x8xf32>, %arg1: tensor<1x2x?x8xf32>, %arg2: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x8xf32>
    %0 = tensor.empty(%dim, %dim) : tensor<?x?xf32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%0 : tensor<?x?xf32>) {
    ^bb0(%out: f32):
      %24 = linalg.index 0 : index
      %25 = linalg.index 1 : index
      %26 = arith.subi %25, %24 : index
      %c0 = arith.constant 0 : index
      %27 = arith.cmpi sle, %26, %c0 : index
      %cst_5 = arith.constant 0.000000e+00 : f32
      %cst_6 = arith.constant 1.000000e+00 : f32
      %28 = arith.select %27, %cst_5, %cst_6 : f32
      linalg.yield %28 : f32
    } -> tensor<?x?xf32>
    %cst = arith.constant dense<0xFF800000> : tensor<1xf32>
    %2 = tensor.empty(%dim) : tensor<1x2x8x?xf32>
    %3 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg1 : tensor<1x2x?x8xf32>) outs(%2 : tensor<1x2x8x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x8x?xf32>
    %4 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %5 = linalg.fill ins(%cst_0 : f32) outs(%4 : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
    %6 = linalg.generic {indexing_maps = [#map3, #map4, #map5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %3 : tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) outs(%5 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %24 = arith.mulf %in, %in_5 : f32
      %25 = arith.addf %out, %24 : f32
      linalg.yield %25 : f32
    } -> tensor<1x2x?x?xf32>
    %7 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %8 = linalg.generic {indexing_maps = [#map6, #map7, #map2, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1, %cst, %6 : tensor<?x?xf32>, tensor<1xf32>, tensor<1x2x?x?xf32>) outs(%7 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_5: f32, %in_6: f32, %out: f32):
      %cst_7 = arith.constant 0.000000e+00 : f32
      %24 = arith.cmpf une, %in, %cst_7 : f32
      %25 = arith.select %24, %in_5, %in_6 : f32
      linalg.yield %25 : f32
    } -> tensor<1x2x?x?xf32>
    %9 = tensor.empty(%dim) : tensor<1x2x?xf32>
    %cst_1 = arith.constant 0xFF800000 : f32
    %10 = linalg.fill ins(%cst_1 : f32) outs(%9 : tensor<1x2x?xf32>) -> tensor<1x2x?xf32>
    %11 = linalg.generic {indexing_maps = [#map2, #map8], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%8 : tensor<1x2x?x?xf32>) outs(%10 : tensor<1x2x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %24 = arith.maximumf %out, %in : f32
      linalg.yield %24 : f32
    } -> tensor<1x2x?xf32>
    %expanded = tensor.expand_shape %11 [[0], [1], [2, 3]] output_shape [1, 2, %dim, 1] : tensor<1x2x?xf32> into tensor<1x2x?x1xf32>
    %12 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %13 = linalg.generic {indexing_maps = [#map2, #map9, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8, %expanded : tensor<1x2x?x?xf32>, tensor<1x2x?x1xf32>) outs(%12 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %24 = arith.subf %in, %in_5 : f32
      linalg.yield %24 : f32
    } -> tensor<1x2x?x?xf32>
    %14 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %15 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%13 : tensor<1x2x?x?xf32>) outs(%14 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %24 = math.exp %in : f32
      linalg.yield %24 : f32
    } -> tensor<1x2x?x?xf32>
    %16 = tensor.empty(%dim) : tensor<1x2x?xf32>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %17 = linalg.fill ins(%cst_2 : f32) outs(%16 : tensor<1x2x?xf32>) -> tensor<1x2x?xf32>
    %18 = linalg.generic {indexing_maps = [#map2, #map8], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%15 : tensor<1x2x?x?xf32>) outs(%17 : tensor<1x2x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %24 = arith.addf %out, %in : f32
      linalg.yield %24 : f32
    } -> tensor<1x2x?xf32>
    %expanded_3 = tensor.expand_shape %18 [[0], [1], [2, 3]] output_shape [1, 2, %dim, 1] : tensor<1x2x?xf32> into tensor<1x2x?x1xf32>
    %19 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %20 = linalg.generic {indexing_maps = [#map2, #map9, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15, %expanded_3 : tensor<1x2x?x?xf32>, tensor<1x2x?x1xf32>) outs(%19 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %24 = arith.divf %in, %in_5 : f32
      linalg.yield %24 : f32
    } -> tensor<1x2x?x?xf32>
    %21 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %cst_4 = arith.constant 0.000000e+00 : f32
    %22 = linalg.fill ins(%cst_4 : f32) outs(%21 : tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
    %23 = linalg.generic {indexing_maps = [#map3, #map4, #map5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%20, %arg2 : tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) outs(%22 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %in_5: f32, %out: f32):
      %24 = arith.mulf %in, %in_5 : f32
      %25 = arith.addf %out, %24 : f32
      linalg.yield %25 : f32
    } -> tensor<1x2x?x8xf32>
    return %23 : tensor<1x2x?x8xf32>
  }
}

// -----

// tril(ones(L, L), 1) lets each query see one key ahead: not causal, and a
// table of dynamic size is no RPE mask either, so nothing is raised.
// CHECK-LABEL: func.func @near_diagonal
// CHECK-NOT: flt.
// CHECK: return
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map3 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map5 = affine_map<(d0, d1) -> (d0, d1)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#map7 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map8 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  func.func @near_diagonal(%arg0: tensor<1x2x?x8xf32>, %arg1: tensor<1x2x?x8xf32>, %arg2: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %arg0, %c2 : tensor<1x2x?x8xf32>
    %0 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x2x?x8xf32>) outs(%0 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_2 = arith.constant 0.000000e+00 : f32
      %21 = arith.maximumf %in, %cst_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x8xf32>
    %2 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg1 : tensor<1x2x?x8xf32>) outs(%2 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_2 = arith.constant 0.000000e+00 : f32
      %21 = arith.maximumf %in, %cst_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x8xf32>
    %4 = tensor.empty(%dim) : tensor<1x2x8x?xf32>
    %5 = linalg.generic {indexing_maps = [#map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3 : tensor<1x2x?x8xf32>) outs(%4 : tensor<1x2x8x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<1x2x8x?xf32>
    %6 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %7 = linalg.fill ins(%cst : f32) outs(%6 : tensor<1x2x?x?xf32>) -> tensor<1x2x?x?xf32>
    %8 = linalg.generic {indexing_maps = [#map2, #map3, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%1, %5 : tensor<1x2x?x8xf32>, tensor<1x2x8x?xf32>) outs(%7 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.mulf %in, %in_2 : f32
      %22 = arith.addf %out, %21 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x?x?xf32>
    %9 = tensor.empty(%dim, %dim) : tensor<?x?xf32>
    %10 = linalg.generic {indexing_maps = [#map5], iterator_types = ["parallel", "parallel"]} outs(%9 : tensor<?x?xf32>) {
    ^bb0(%out: f32):
      %21 = linalg.index 0 : index
      %22 = linalg.index 1 : index
      %23 = arith.subi %22, %21 : index
      %c1 = arith.constant 1 : index
      %24 = arith.cmpi sle, %23, %c1 : index
      %cst_2 = arith.constant 1.000000e+00 : f32
      %cst_3 = arith.constant 0.000000e+00 : f32
      %25 = arith.select %24, %cst_2, %cst_3 : f32
      linalg.yield %25 : f32
    } -> tensor<?x?xf32>
    %11 = tensor.empty(%dim, %dim) : tensor<1x2x?x?xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%8, %10 : tensor<1x2x?x?xf32>, tensor<?x?xf32>) outs(%11 : tensor<1x2x?x?xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.mulf %in, %in_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x?xf32>
    %13 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %14 = linalg.fill ins(%cst_0 : f32) outs(%13 : tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
    %15 = linalg.generic {indexing_maps = [#map2, #map3, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%12, %arg2 : tensor<1x2x?x?xf32>, tensor<1x2x?x8xf32>) outs(%14 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.mulf %in, %in_2 : f32
      %22 = arith.addf %out, %21 : f32
      linalg.yield %22 : f32
    } -> tensor<1x2x?x8xf32>
    %16 = tensor.empty(%dim) : tensor<1x2x?xf32>
    %cst_1 = arith.constant 0.000000e+00 : f32
    %17 = linalg.fill ins(%cst_1 : f32) outs(%16 : tensor<1x2x?xf32>) -> tensor<1x2x?xf32>
    %18 = linalg.generic {indexing_maps = [#map, #map7], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%12 : tensor<1x2x?x?xf32>) outs(%17 : tensor<1x2x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %21 = arith.addf %out, %in : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?xf32>
    %expanded = tensor.expand_shape %18 [[0], [1], [2, 3]] output_shape [1, 2, %dim, 1] : tensor<1x2x?xf32> into tensor<1x2x?x1xf32>
    %19 = tensor.empty(%dim) : tensor<1x2x?x8xf32>
    %20 = linalg.generic {indexing_maps = [#map, #map8, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15, %expanded : tensor<1x2x?x8xf32>, tensor<1x2x?x1xf32>) outs(%19 : tensor<1x2x?x8xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %21 = arith.divf %in, %in_2 : f32
      linalg.yield %21 : f32
    } -> tensor<1x2x?x8xf32>
    return %20 : tensor<1x2x?x8xf32>
  }
}

// -----

// Keys and values repeat_interleave'd from 2 heads to 4 and a run-time
// [B, S] padding mask multiplying the keys: the op takes the 2 key/value
// heads (grouped heads), and fk is weighed by the mask.
// CHECK-LABEL: func.func @grouped_masked(
// CHECK-SAME: %[[MASK:[a-z0-9]+]]: tensor<?x?xf32>
// CHECK: %[[FK:.*]] = flt.feature_map %{{.*}} {kernel = #flt.kernel<relu>} : tensor<?x2x?x8xf32>
// CHECK: %[[W:.*]] = linalg.generic {{.*}} ins(%[[FK]], %{{.*}} : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>)
// CHECK: flt.linear_attention %{{.*}}, %[[W]], %{{.*}} : tensor<?x4x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32> -> tensor<?x4x?x8xf32>
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, 0)>
#map4 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d4)>
#map5 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d5, d4)>
#map6 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d5, d3)>
#map7 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
#map8 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#map9 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map10 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
#map11 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  func.func @grouped_masked(%arg0: tensor<?x4x?x8xf32>, %arg1: tensor<?x2x?x8xf32>, %arg2: tensor<?x2x?x8xf32>, %arg3: tensor<?x?xf32>) -> tensor<?x4x?x8xf32> {
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg0, %c0 : tensor<?x4x?x8xf32>
    %c2 = arith.constant 2 : index
    %dim_0 = tensor.dim %arg0, %c2 : tensor<?x4x?x8xf32>
    %0 = tensor.empty(%dim, %dim_0) : tensor<?x4x?x8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<?x4x?x8xf32>) outs(%0 : tensor<?x4x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_6 = arith.constant 0.000000e+00 : f32
      %18 = arith.maximumf %in, %cst_6 : f32
      linalg.yield %18 : f32
    } -> tensor<?x4x?x8xf32>
    %expanded = tensor.expand_shape %arg1 [[0], [1], [2, 3], [4]] output_shape [%dim, 2, 1, %dim_0, 8] : tensor<?x2x?x8xf32> into tensor<?x2x1x?x8xf32>
    %2 = tensor.empty(%dim, %dim_0) : tensor<?x2x2x?x8xf32>
    %3 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded : tensor<?x2x1x?x8xf32>) outs(%2 : tensor<?x2x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<?x2x2x?x8xf32>
    %collapsed = tensor.collapse_shape %3 [[0], [1, 2], [3], [4]] : tensor<?x2x2x?x8xf32> into tensor<?x4x?x8xf32>
    %4 = tensor.empty(%dim, %dim_0) : tensor<?x4x?x8xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%collapsed : tensor<?x4x?x8xf32>) outs(%4 : tensor<?x4x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_6 = arith.constant 0.000000e+00 : f32
      %18 = arith.maximumf %in, %cst_6 : f32
      linalg.yield %18 : f32
    } -> tensor<?x4x?x8xf32>
    %expanded_1 = tensor.expand_shape %arg3 [[0], [1, 2, 3]] output_shape [%dim, 1, %dim_0, 1] : tensor<?x?xf32> into tensor<?x1x?x1xf32>
    %6 = tensor.empty(%dim, %dim_0) : tensor<?x4x?x8xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map3, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %expanded_1 : tensor<?x4x?x8xf32>, tensor<?x1x?x1xf32>) outs(%6 : tensor<?x4x?x8xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %18 = arith.mulf %in, %in_6 : f32
      linalg.yield %18 : f32
    } -> tensor<?x4x?x8xf32>
    %expanded_2 = tensor.expand_shape %arg2 [[0], [1], [2, 3], [4]] output_shape [%dim, 2, 1, %dim_0, 8] : tensor<?x2x?x8xf32> into tensor<?x2x1x?x8xf32>
    %8 = tensor.empty(%dim, %dim_0) : tensor<?x2x2x?x8xf32>
    %9 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded_2 : tensor<?x2x1x?x8xf32>) outs(%8 : tensor<?x2x2x?x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<?x2x2x?x8xf32>
    %collapsed_3 = tensor.collapse_shape %9 [[0], [1, 2], [3], [4]] : tensor<?x2x2x?x8xf32> into tensor<?x4x?x8xf32>
    %10 = tensor.empty(%dim, %dim_0) : tensor<?x4x?x8xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %11 = linalg.fill ins(%cst : f32) outs(%10 : tensor<?x4x?x8xf32>) -> tensor<?x4x?x8xf32>
    %12 = linalg.generic {indexing_maps = [#map4, #map5, #map6, #map7], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%1, %7, %collapsed_3 : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) outs(%11 : tensor<?x4x?x8xf32>) {
    ^bb0(%in: f32, %in_6: f32, %in_7: f32, %out: f32):
      %18 = arith.mulf %in, %in_6 : f32
      %19 = arith.mulf %18, %in_7 : f32
      %20 = arith.addf %out, %19 : f32
      linalg.yield %20 : f32
    } -> tensor<?x4x?x8xf32>
    %13 = tensor.empty(%dim, %dim_0) : tensor<?x4x?xf32>
    %cst_4 = arith.constant 0.000000e+00 : f32
    %14 = linalg.fill ins(%cst_4 : f32) outs(%13 : tensor<?x4x?xf32>) -> tensor<?x4x?xf32>
    %15 = linalg.generic {indexing_maps = [#map8, #map9, #map10], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%1, %7 : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32>) outs(%14 : tensor<?x4x?xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %18 = arith.mulf %in, %in_6 : f32
      %19 = arith.addf %out, %18 : f32
      linalg.yield %19 : f32
    } -> tensor<?x4x?xf32>
    %expanded_5 = tensor.expand_shape %15 [[0], [1], [2, 3]] output_shape [%dim, 4, %dim_0, 1] : tensor<?x4x?xf32> into tensor<?x4x?x1xf32>
    %16 = tensor.empty(%dim, %dim_0) : tensor<?x4x?x8xf32>
    %17 = linalg.generic {indexing_maps = [#map, #map11, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%12, %expanded_5 : tensor<?x4x?x8xf32>, tensor<?x4x?x1xf32>) outs(%16 : tensor<?x4x?x8xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %18 = arith.divf %in, %in_6 : f32
      linalg.yield %18 : f32
    } -> tensor<?x4x?x8xf32>
    return %17 : tensor<?x4x?x8xf32>
  }
}
