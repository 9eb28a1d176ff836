// Round trip of every flt op and variant, pretty and generic, static and
// dynamic shapes: parse, print, re-parse, and check the printed form.
// RUN: flt-opt %s --split-input-file | flt-opt --split-input-file | FileCheck %s
// RUN: flt-opt %s --split-input-file --mlir-print-op-generic | flt-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @feature_maps
func.func @feature_maps(%x: tensor<?x8x?x64xf32>, %w: tensor<8x128x64xf32>, %h: tensor<2x4x7x16xf16>, %b: tensor<1x2x3x8xbf16>)
    -> (tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x128xf32>, tensor<?x8x?x128xf32>, tensor<2x4x7x16xf16>, tensor<1x2x3x8xbf16>, tensor<?x8x?x64xf32>) {
  // CHECK: flt.feature_map %{{.*}} {kernel = #flt.kernel<identity>} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  %0 = flt.feature_map %x {kernel = #flt.kernel<identity>} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  // CHECK: flt.feature_map %{{.*}} {eps = 1.000000e-03 : f32, kernel = #flt.kernel<relu>} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  %1 = flt.feature_map %x {kernel = #flt.kernel<relu>, eps = 1.0e-3 : f32} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  // CHECK: flt.feature_map %{{.*}}, %{{.*}} {kernel = #flt.kernel<relu>} : tensor<?x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<?x8x?x128xf32>
  %2 = flt.feature_map %x, %w {kernel = #flt.kernel<relu>} : tensor<?x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<?x8x?x128xf32>
  // CHECK: flt.feature_map %{{.*}}, %{{.*}} {is_query = true, kernel = #flt.kernel<favor_pos>} : tensor<?x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<?x8x?x128xf32>
  %3 = flt.feature_map %x, %w {kernel = #flt.kernel<favor_pos>, is_query = true} : tensor<?x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<?x8x?x128xf32>
  // CHECK: flt.feature_map %{{.*}} {kernel = #flt.kernel<elu_plus_one>} : tensor<2x4x7x16xf16> -> tensor<2x4x7x16xf16>
  %4 = flt.feature_map %h {kernel = #flt.kernel<elu_plus_one>, eps = 0.0 : f32, is_query = false} : tensor<2x4x7x16xf16> -> tensor<2x4x7x16xf16>
  // CHECK: flt.feature_map %{{.*}} {kernel = #flt.kernel<relu>} : tensor<1x2x3x8xbf16> -> tensor<1x2x3x8xbf16>
  %5 = flt.feature_map %b {kernel = #flt.kernel<relu>} : tensor<1x2x3x8xbf16> -> tensor<1x2x3x8xbf16>
  // The result may be more dynamic than the operand.
  // CHECK: flt.feature_map %{{.*}} {kernel = #flt.kernel<relu>} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  %6 = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x128xf32>, tensor<?x8x?x128xf32>, tensor<2x4x7x16xf16>, tensor<1x2x3x8xbf16>, tensor<?x8x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @spectral
func.func @spectral(%theta1: tensor<8x75xf32>, %xi1: tensor<8x16x1xf32>, %theta3: tensor<4x10xf32>, %xi3: tensor<4x?x3xf32>, %box: tensor<4x2xf32>, %r1: tensor<?x?x1xf32>, %r3: tensor<2x?x3xf32>)
    -> (tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>, tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>) {
  // CHECK: flt.spectral_density %{{.*}}, %{{.*}} {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  %rho1 = flt.spectral_density %theta1, %xi1 {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  // CHECK: flt.spectral_density %{{.*}}, %{{.*}} {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<4x10xf32>, tensor<4x?x3xf32> -> tensor<4x?xf32>
  %rho3 = flt.spectral_density %theta3, %xi3 {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<4x10xf32>, tensor<4x?x3xf32> -> tensor<4x?xf32>
  // CHECK: flt.spectral_density %{{.*}}, %{{.*}} {spectrum = #flt.spectrum<local_window>} : tensor<4x2xf32>, tensor<4x?x3xf32> -> tensor<4x?xf32>
  %box3 = flt.spectral_density %box, %xi3 {spectrum = #flt.spectrum<local_window>} : tensor<4x2xf32>, tensor<4x?x3xf32> -> tensor<4x?xf32>
  // CHECK: %{{.*}}, %{{.*}} = flt.spectral_features %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>
  %phi1, %psi1 = flt.spectral_features %r1, %xi1, %rho1 : tensor<?x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>
  // CHECK: flt.spectral_features %{{.*}}, %{{.*}}, %{{.*}} {weighting = #flt.weighting<both_sides>} : tensor<2x?x3xf32>, tensor<4x?x3xf32>, tensor<4x?xf32> -> tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
  %phi3, %psi3 = flt.spectral_features %r3, %xi3, %box3 {weighting = #flt.weighting<both_sides>} : tensor<2x?x3xf32>, tensor<4x?x3xf32>, tensor<4x?xf32> -> tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
  // CHECK: flt.spectral_features %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x?x3xf32>, tensor<4x?x3xf32>, tensor<4x?xf32> -> tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
  %phi4, %psi4 = flt.spectral_features %r3, %xi3, %rho3 {weighting = #flt.weighting<query_side>} : tensor<2x?x3xf32>, tensor<4x?x3xf32>, tensor<4x?xf32> -> tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
  return %phi1, %psi1, %phi3, %psi4 : tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>, tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
}

// -----

// CHECK-LABEL: func.func @linear_attention
func.func @linear_attention(%fq: tensor<1x8x?x64xf32>, %fk: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x32xf32>, %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>,
                            %fq7: tensor<2x2x7x16xf32>, %fk5: tensor<2x2x5x16xf32>, %v5: tensor<2x2x5x24xf32>,
                            %hq: tensor<?x2x?x8xf16>, %hv: tensor<?x2x?x4xf16>)
    -> (tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x2x7x24xf32>, tensor<?x2x?x4xf16>, tensor<1x8x?x32xf32>) {
  // CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  %0 = flt.linear_attention %fq, %fk, %v : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  // CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} rpe(%{{.*}}, %{{.*}}) {causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  %1 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  // S != L, e != m.
  // CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} {eps = 9.99999974E-5 : f32, normalize = #flt.normalize<guarded>} : tensor<2x2x7x16xf32>, tensor<2x2x5x16xf32>, tensor<2x2x5x24xf32> -> tensor<2x2x7x24xf32>
  %2 = flt.linear_attention %fq7, %fk5, %v5 {normalize = #flt.normalize<guarded>, eps = 1.0e-4 : f32} : tensor<2x2x7x16xf32>, tensor<2x2x5x16xf32>, tensor<2x2x5x24xf32> -> tensor<2x2x7x24xf32>
  // CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} {normalize = #flt.normalize<none>} : tensor<?x2x?x8xf16>, tensor<?x2x?x8xf16>, tensor<?x2x?x4xf16> -> tensor<?x2x?x4xf16>
  %3 = flt.linear_attention %hq, %hq, %hv {normalize = #flt.normalize<none>} : tensor<?x2x?x8xf16>, tensor<?x2x?x8xf16>, tensor<?x2x?x4xf16> -> tensor<?x2x?x4xf16>
  // CHECK: flt.linear_attention %{{.*}}, %{{.*}}, %{{.*}} rpe(%{{.*}}, %{{.*}}) : tensor<1x8x?x64xf32>
  %4 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {normalize = #flt.normalize<divide>, causal = false} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  return %0, %1, %2, %3, %4 : tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x2x7x24xf32>, tensor<?x2x?x4xf16>, tensor<1x8x?x32xf32>
}

// -----

// CHECK-LABEL: func.func @kernel_attention
func.func @kernel_attention(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %b: tensor<8x?xf32>, %R: tensor<8x64xf32>,
                            %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>,
                            %q7: tensor<1x2x7x16xbf16>, %k5: tensor<1x2x5x16xbf16>, %v5: tensor<1x2x5x8xbf16>, %b11: tensor<2x11xf32>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x2x7x8xbf16>, tensor<1x8x?x64xf32>) {
  // CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
  %0 = flt.kernel_attention %q, %k, %v {kernel = #flt.pair_kernel<softmax>, causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) {temperature = 5.000000e-01 : f32} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x?xf32> -> tensor<1x8x?x64xf32>
  %1 = flt.kernel_attention %q, %k, %v bias(%b) {temperature = 0.5 : f32} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x?xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} scale(%{{.*}}) bias(%{{.*}}) {kernel = #flt.pair_kernel<fourier_integral>, power = 2 : i64} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x?xf32> -> tensor<1x8x?x64xf32>
  %2 = flt.kernel_attention %q, %k, %v scale(%R) bias(%b) {kernel = #flt.pair_kernel<fourier_integral>, power = 2} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x?xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} rpe(%{{.*}}, %{{.*}}) {kernel = #flt.pair_kernel<dot>, normalize = #flt.normalize<none>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  %3 = flt.kernel_attention %q, %k, %v rpe(%phi, %psi) {kernel = #flt.pair_kernel<dot>, normalize = #flt.normalize<none>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  // S != L with a static bias of L + S - 1 columns.
  // CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) : tensor<1x2x7x16xbf16>, tensor<1x2x5x16xbf16>, tensor<1x2x5x8xbf16>, tensor<2x11xf32> -> tensor<1x2x7x8xbf16>
  %4 = flt.kernel_attention %q7, %k5, %v5 bias(%b11) : tensor<1x2x7x16xbf16>, tensor<1x2x5x16xbf16>, tensor<1x2x5x8xbf16>, tensor<2x11xf32> -> tensor<1x2x7x8xbf16>
  // CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} scale(%{{.*}}) rpe(%{{.*}}, %{{.*}}) {causal = true, kernel = #flt.pair_kernel<fourier_integral>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  %5 = flt.kernel_attention %q, %k, %v scale(%R) rpe(%phi, %psi) {kernel = #flt.pair_kernel<fourier_integral>, causal = true, power = 4} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x2x7x8xbf16>, tensor<1x8x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @position_transform
func.func @position_transform(%q: tensor<1x8x?x64xf32>, %half: tensor<8x32xf32>, %full: tensor<8x64xf32>, %hv: tensor<8x64xf32>, %s: tensor<1x?xf32>, %h: tensor<?x2x5x6xf16>, %h3: tensor<2x3xf32>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x128xf32>, tensor<1x8x?x64xf32>, tensor<?x2x5x6xf16>, tensor<1x8x?x128xf32>) {
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<rotary>} : tensor<1x8x?x64xf32>, tensor<8x32xf32> -> tensor<1x8x?x64xf32>
  %0 = flt.position_transform %q, %half {core = #flt.lrpe_core<rotary>} : tensor<1x8x?x64xf32>, tensor<8x32xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<rotary>, offset = 3 : i64, pairing = #flt.pairing<halves>} : tensor<1x8x?x64xf32>, tensor<8x32xf32> -> tensor<1x8x?x64xf32>
  %1 = flt.position_transform %q, %half {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>, offset = 3} : tensor<1x8x?x64xf32>, tensor<8x32xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} mix(%{{.*}}) {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>} : tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32> -> tensor<1x8x?x128xf32>
  %2 = flt.position_transform %q, %full mix(%hv) {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>} : tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32> -> tensor<1x8x?x128xf32>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} positions(%{{.*}}) {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<odd_even>} : tensor<1x8x?x64xf32>, tensor<8x32xf32>, tensor<1x?xf32> -> tensor<1x8x?x64xf32>
  %3 = flt.position_transform %q, %half positions(%s) {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<odd_even>} : tensor<1x8x?x64xf32>, tensor<8x32xf32>, tensor<1x?xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<rotary>} : tensor<?x2x5x6xf16>, tensor<2x3xf32> -> tensor<?x2x5x6xf16>
  %4 = flt.position_transform %h, %h3 {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<identity>, pairing = #flt.pairing<interleaved>} : tensor<?x2x5x6xf16>, tensor<2x3xf32> -> tensor<?x2x5x6xf16>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} mix(%{{.*}}) positions(%{{.*}}) {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>} : tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<1x?xf32> -> tensor<1x8x?x128xf32>
  %5 = flt.position_transform %q, %full mix(%hv) positions(%s) {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>} : tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<1x?xf32> -> tensor<1x8x?x128xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x128xf32>, tensor<1x8x?x64xf32>, tensor<?x2x5x6xf16>, tensor<1x8x?x128xf32>
}

// -----

// CHECK-LABEL: func.func @toeplitz_attention
func.func @toeplitz_attention(%fq: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x32xf32>, %b: tensor<8x?xf32>, %q7: tensor<2x1x7x4xf16>, %v7: tensor<2x1x7x4xf16>, %b13: tensor<1x13xf32>)
    -> (tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x1x7x4xf16>) {
  // CHECK: flt.toeplitz_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<8x?xf32> -> tensor<1x8x?x32xf32>
  %0 = flt.toeplitz_attention %fq, %fq, %v, %b {causal = false} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<8x?xf32> -> tensor<1x8x?x32xf32>
  // CHECK: flt.toeplitz_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal = true, method = #flt.toeplitz_method<fft>, normalize = #flt.normalize<guarded>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<8x?xf32> -> tensor<1x8x?x32xf32>
  %1 = flt.toeplitz_attention %fq, %fq, %v, %b {causal = true, method = #flt.toeplitz_method<fft>, normalize = #flt.normalize<guarded>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<8x?xf32> -> tensor<1x8x?x32xf32>
  // CHECK: flt.toeplitz_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {method = #flt.toeplitz_method<direct>} : tensor<2x1x7x4xf16>, tensor<2x1x7x4xf16>, tensor<2x1x7x4xf16>, tensor<1x13xf32> -> tensor<2x1x7x4xf16>
  %2 = flt.toeplitz_attention %q7, %q7, %v7, %b13 {method = #flt.toeplitz_method<direct>} : tensor<2x1x7x4xf16>, tensor<2x1x7x4xf16>, tensor<2x1x7x4xf16>, tensor<1x13xf32> -> tensor<2x1x7x4xf16>
  return %0, %1, %2 : tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x1x7x4xf16>
}

// -----

// CHECK-LABEL: func.func @toeplitz_correlation
func.func @toeplitz_correlation(%fq: tensor<1x8x?x64xf32>, %a: tensor<1x8x?x65xf32>, %cu: tensor<?xi32>) -> (tensor<8x?xf32>, tensor<8x?xf32>) {
  // CHECK: flt.toeplitz_correlation %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal = true, method = #flt.toeplitz_method<fft>} : tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32> -> tensor<8x?xf32>
  %0 = flt.toeplitz_correlation %fq, %a, %fq, %a {causal = true, method = #flt.toeplitz_method<fft>} : tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32> -> tensor<8x?xf32>
  // CHECK: flt.toeplitz_correlation %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} packed(%{{.*}}) : tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32>, tensor<?xi32> -> tensor<8x?xf32>
  %1 = flt.toeplitz_correlation %fq, %a, %fq, %a packed(%cu) : tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32>, tensor<?xi32> -> tensor<8x?xf32>
  return %0, %1 : tensor<8x?xf32>, tensor<8x?xf32>
}

// -----

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %theta: tensor<8x75xf32>, %w: tensor<8x32x64xf32>,
                     %q3: tensor<?x2x?x16xbf16>, %v3: tensor<?x2x?x8xbf16>, %r3: tensor<?x?x3xf32>, %xi3: tensor<2x4x3xf32>, %box: tensor<2x2xf32>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<?x2x?x8xbf16>) {
  // CHECK: flt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32> -> tensor<1x8x?x64xf32>
  %0 = flt.attention %q, %q, %v, %r, %xi, %theta {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>, causal = false} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} proj(%{{.*}}) {causal = true, eps = 1.000000e-03 : f32, kernel = #flt.kernel<favor_pos>, normalize = #flt.normalize<divide>, spectrum = #flt.spectrum<gaussian_mixture>, weighting = #flt.weighting<both_sides>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32>, tensor<8x32x64xf32> -> tensor<1x8x?x64xf32>
  %1 = flt.attention %q, %q, %v, %r, %xi, %theta proj(%w) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>, causal = true, eps = 1.0e-3 : f32, normalize = #flt.normalize<divide>, weighting = #flt.weighting<both_sides>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32>, tensor<8x32x64xf32> -> tensor<1x8x?x64xf32>
  // p = 3 positions with a local-window spectrum, dynamic B and L, bf16.
  // CHECK: flt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {kernel = #flt.kernel<elu_plus_one>, spectrum = #flt.spectrum<local_window>} : tensor<?x2x?x16xbf16>, tensor<?x2x?x16xbf16>, tensor<?x2x?x8xbf16>, tensor<?x?x3xf32>, tensor<2x4x3xf32>, tensor<2x2xf32> -> tensor<?x2x?x8xbf16>
  %2 = flt.attention %q3, %q3, %v3, %r3, %xi3, %box {kernel = #flt.kernel<elu_plus_one>, spectrum = #flt.spectrum<local_window>} : tensor<?x2x?x16xbf16>, tensor<?x2x?x16xbf16>, tensor<?x2x?x8xbf16>, tensor<?x?x3xf32>, tensor<2x4x3xf32>, tensor<2x2xf32> -> tensor<?x2x?x8xbf16>
  return %0, %1, %2 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<?x2x?x8xbf16>
}

// -----

// The compatibility forms (docs/Compatibility.md): every new attribute and
// enum case round-trips; defaults are elided.
// CHECK-LABEL: func.func @compat_forms
func.func @compat_forms(%q: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %r: tensor<1x?x3xf32>, %xi: tensor<8x16x3xf32>, %theta: tensor<8x15xf32>, %w: tensor<8x128x96xf32>, %w64: tensor<8x128x64xf32>,
                        %R: tensor<8x64xf32>, %x: tensor<2x8x?x65xf32>, %t16: tensor<8x16xf32>, %hv: tensor<8x65xf32>, %table: tensor<8x512x65xi32>, %table64: tensor<8x?x64xi64>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x128xf32>, tensor<8x16xf32>, tensor<1x8x?x64xf32>, tensor<2x8x?x65xf32>, tensor<2x8x?x65xf32>, tensor<1x8x?x64xf32>) {
  // CHECK: flt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} proj(%{{.*}}) {density = #flt.density<normal_1d_constant>, eps = 9.99999997E-7 : f32, kernel = #flt.kernel<favor_pos>, key_stabilizer = #flt.key_stabilizer<global>, rpe_form = #flt.rpe_form<concat>, spectrum = #flt.spectrum<gaussian_mixture>, weighting = #flt.weighting<both_sides>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x3xf32>, tensor<8x16x3xf32>, tensor<8x15xf32>, tensor<8x128x96xf32> -> tensor<1x8x?x64xf32>
  %0 = flt.attention %q, %q, %v, %r, %xi, %theta proj(%w) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>, rpe_form = #flt.rpe_form<concat>, weighting = #flt.weighting<both_sides>, density = #flt.density<normal_1d_constant>, key_stabilizer = #flt.key_stabilizer<global>, eps = 1.0e-06 : f32} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x3xf32>, tensor<8x16x3xf32>, tensor<8x15xf32>, tensor<8x128x96xf32> -> tensor<1x8x?x64xf32>
  // Relu in the concat form needs no projection; the default spellings are elided.
  // CHECK: flt.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal = true, kernel = #flt.kernel<relu>, rpe_form = #flt.rpe_form<concat>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x3xf32>, tensor<8x16x3xf32>, tensor<8x15xf32> -> tensor<1x8x?x64xf32>
  %1 = flt.attention %q, %q, %v, %r, %xi, %theta {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>, rpe_form = #flt.rpe_form<concat>, density = #flt.density<normal>, key_stabilizer = #flt.key_stabilizer<per_head>, causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x3xf32>, tensor<8x16x3xf32>, tensor<8x15xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.feature_map %{{.*}}, %{{.*}} {kernel = #flt.kernel<favor_pos>, key_stabilizer = #flt.key_stabilizer<global>} : tensor<1x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<1x8x?x128xf32>
  %2 = flt.feature_map %q, %w64 {kernel = #flt.kernel<favor_pos>, key_stabilizer = #flt.key_stabilizer<global>} : tensor<1x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<1x8x?x128xf32>
  // CHECK: flt.spectral_density %{{.*}}, %{{.*}} {density = #flt.density<normal_1d_constant>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x15xf32>, tensor<8x16x3xf32> -> tensor<8x16xf32>
  %3 = flt.spectral_density %theta, %xi {spectrum = #flt.spectrum<gaussian_mixture>, density = #flt.density<normal_1d_constant>} : tensor<8x15xf32>, tensor<8x16x3xf32> -> tensor<8x16xf32>
  // CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} scale(%{{.*}}) {causal = true, eps = 0.000000e+00 : f32, fourier_form = #flt.fourier_form<amplitude_eps>, kernel = #flt.pair_kernel<fourier_integral>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32> -> tensor<1x8x?x64xf32>
  %4 = flt.kernel_attention %q, %q, %v scale(%R) {kernel = #flt.pair_kernel<fourier_integral>, fourier_form = #flt.fourier_form<amplitude_eps>, eps = 0.0 : f32, causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32> -> tensor<1x8x?x64xf32>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} mix(%{{.*}}) {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<householder>, mix_eps = 9.99999997E-7 : f32, rotary_dims = 32 : i64} : tensor<2x8x?x65xf32>, tensor<8x16xf32>, tensor<8x65xf32> -> tensor<2x8x?x65xf32>
  %5 = flt.position_transform %x, %t16 mix(%hv) {core = #flt.lrpe_core<rotary>, rotary_dims = 32, mix = #flt.lrpe_mix<householder>, mix_eps = 1.0e-06 : f32} : tensor<2x8x?x65xf32>, tensor<8x16xf32>, tensor<8x65xf32> -> tensor<2x8x?x65xf32>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<permutation>, mix = #flt.lrpe_mix<odd_even_inverse>, offset = 3 : i64} : tensor<2x8x?x65xf32>, tensor<8x512x65xi32> -> tensor<2x8x?x65xf32>
  %6 = flt.position_transform %x, %table {core = #flt.lrpe_core<permutation>, mix = #flt.lrpe_mix<odd_even_inverse>, offset = 3} : tensor<2x8x?x65xf32>, tensor<8x512x65xi32> -> tensor<2x8x?x65xf32>
  // CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<permutation>} : tensor<1x8x?x64xf32>, tensor<8x?x64xi64> -> tensor<1x8x?x64xf32>
  %7 = flt.position_transform %q, %table64 {core = #flt.lrpe_core<permutation>} : tensor<1x8x?x64xf32>, tensor<8x?x64xi64> -> tensor<1x8x?x64xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x128xf32>, tensor<8x16xf32>, tensor<1x8x?x64xf32>, tensor<2x8x?x65xf32>, tensor<2x8x?x65xf32>, tensor<1x8x?x64xf32>
}
