// Every verifier rule of the flt ops, one case each.
// RUN: flt-opt %s --split-input-file --verify-diagnostics

// X must be rank 4.
func.func @f0(%x: tensor<8x64xf32>) {
  // expected-error @+1 {{'x' must be a rank-4 tensor [B, H, L, d], got 'tensor<8x64xf32>'}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<8x64xf32> -> tensor<8x64xf32>
  return
}

// -----

// X must be a float tensor.
func.func @f1(%x: tensor<1x2x3x4xi32>) {
  // expected-error @+1 {{'x' must have element type f32, f16 or bf16, got 'i32'}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x2x3x4xi32> -> tensor<1x2x3x4xi32>
  return
}

// -----

// Operands must be ranked.
func.func @f2(%x: tensor<*xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of any type values}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<*xf32> -> tensor<1x2x3x4xf32>
  return
}

// -----

// Favor_pos needs a projection.
func.func @f3(%x: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{kernel favor_pos needs a projection 'w' [H, m, d]}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<favor_pos>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x4xf32>
  return
}

// -----

// Identity takes no projection.
func.func @f4(%x: tensor<1x2x3x4xf32>, %w: tensor<2x8x4xf32>) {
  // expected-error @+1 {{kernel identity takes no projection 'w'}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<identity>} : tensor<1x2x3x4xf32>, tensor<2x8x4xf32> -> tensor<1x2x3x8xf32>
  return
}

// -----

// Elu_plus_one takes no projection.
func.func @f5(%x: tensor<1x2x3x4xf32>, %w: tensor<2x8x4xf32>) {
  // expected-error @+1 {{kernel elu_plus_one takes no projection 'w'}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<elu_plus_one>} : tensor<1x2x3x4xf32>, tensor<2x8x4xf32> -> tensor<1x2x3x8xf32>
  return
}

// -----

// W must be rank 3.
func.func @f6(%x: tensor<1x2x3x4xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{'w' must be a rank-3 tensor [H, m, d], got 'tensor<8x4xf32>'}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<relu>} : tensor<1x2x3x4xf32>, tensor<8x4xf32> -> tensor<1x2x3x8xf32>
  return
}

// -----

// W must be f32.
func.func @f7(%x: tensor<1x2x3x4xf16>, %w: tensor<2x8x4xf16>) {
  // expected-error @+1 {{'w' must have element type f32, got 'f16'}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<relu>} : tensor<1x2x3x4xf16>, tensor<2x8x4xf16> -> tensor<1x2x3x8xf16>
  return
}

// -----

// W heads.
func.func @f8(%x: tensor<1x2x3x4xf32>, %w: tensor<3x8x4xf32>) {
  // expected-error @+1 {{'w' has H = 3 but 'x' has H = 2}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<relu>} : tensor<1x2x3x4xf32>, tensor<3x8x4xf32> -> tensor<1x2x3x8xf32>
  return
}

// -----

// W input size.
func.func @f9(%x: tensor<1x2x3x4xf32>, %w: tensor<2x8x5xf32>) {
  // expected-error @+1 {{'w' has d = 5 but 'x' has d = 4}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<favor_pos>} : tensor<1x2x3x4xf32>, tensor<2x8x5xf32> -> tensor<1x2x3x8xf32>
  return
}

// -----

// Result element type.
func.func @f10(%x: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{'result' has element type 'f16' but 'x' has 'f32'}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x4xf16>
  return
}

// -----

// Result length.
func.func @f11(%x: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{'result' has L = 5 but 'x' has L = 3}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x2x3x4xf32> -> tensor<1x2x5x4xf32>
  return
}

// -----

// Result features without projection.
func.func @f12(%x: tensor<1x2x3x4xf32>) {
  // expected-error @+1 {{'result' has m = 8 but 'x' has d = 4}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<elu_plus_one>} : tensor<1x2x3x4xf32> -> tensor<1x2x3x8xf32>
  return
}

// -----

// Result features with projection.
func.func @f13(%x: tensor<1x2x3x4xf32>, %w: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'result' has m = 4 but 'w' has m = 8}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<relu>} : tensor<1x2x3x4xf32>, tensor<2x8x4xf32> -> tensor<1x2x3x4xf32>
  return
}

// -----

// Theta must be rank 2.
func.func @f14(%t: tensor<75xf32>, %xi: tensor<8x16x1xf32>) {
  // expected-error @+1 {{'theta' must be a rank-2 tensor [H, P], got 'tensor<75xf32>'}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  return
}

// -----

// Xi must be rank 3.
func.func @f15(%t: tensor<8x75xf32>, %xi: tensor<8x16xf32>) {
  // expected-error @+1 {{'xi' must be a rank-3 tensor [H, m_f, p], got 'tensor<8x16xf32>'}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x75xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  return
}

// -----

// Spectral parameters are f32.
func.func @f16(%t: tensor<8x75xf16>, %xi: tensor<8x16x1xf32>) {
  // expected-error @+1 {{'theta' must have element type f32, got 'f16'}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x75xf16>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  return
}

// -----

// Heads of theta and xi.
func.func @f17(%t: tensor<4x75xf32>, %xi: tensor<8x16x1xf32>) {
  // expected-error @+1 {{'xi' has H = 8 but 'theta' has H = 4}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<4x75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  return
}

// -----

// Gaussian_mixture width.
func.func @f18(%t: tensor<8x74xf32>, %xi: tensor<8x16x1xf32>) {
  // expected-error @+1 {{'theta' has P = 74 but spectrum gaussian_mixture with p = 1 needs a positive multiple of p + 2 = 3}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x74xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  return
}

// -----

// Gaussian_mixture width for p = 3.
func.func @f19(%t: tensor<8x9xf32>, %xi: tensor<8x16x3xf32>) {
  // expected-error @+1 {{'theta' has P = 9 but spectrum gaussian_mixture with p = 3 needs a positive multiple of p + 2 = 5}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x9xf32>, tensor<8x16x3xf32> -> tensor<8x16xf32>
  return
}

// -----

// Local_window width.
func.func @f20(%t: tensor<8x3xf32>, %xi: tensor<8x16x1xf32>) {
  // expected-error @+1 {{'theta' has P = 3 but spectrum local_window ([C, v]) needs 2}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<local_window>} : tensor<8x3xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  return
}

// -----

// Rho frequencies.
func.func @f21(%t: tensor<8x2xf32>, %xi: tensor<8x16x1xf32>) {
  // expected-error @+1 {{'rho' has m_f = 15 but 'xi' has m_f = 16}}
  %0 = flt.spectral_density %t, %xi {spectrum = #flt.spectrum<local_window>} : tensor<8x2xf32>, tensor<8x16x1xf32> -> tensor<8x15xf32>
  return
}

// -----

// Position dimension.
func.func @f22(%r: tensor<1x?x3xf32>, %xi: tensor<8x16x1xf32>, %rho: tensor<8x16xf32>) {
  // expected-error @+1 {{'xi' has p = 1 but 'r' has p = 3}}
  %0:2 = flt.spectral_features %r, %xi, %rho : tensor<1x?x3xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
  return
}

// -----

// Positions are f32.
func.func @f23(%r: tensor<1x?x1xf16>, %xi: tensor<8x16x1xf32>, %rho: tensor<8x16xf32>) {
  // expected-error @+1 {{'r' must have element type f32, got 'f16'}}
  %0:2 = flt.spectral_features %r, %xi, %rho : tensor<1x?x1xf16>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
  return
}

// -----

// Rho heads.
func.func @f24(%r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %rho: tensor<4x16xf32>) {
  // expected-error @+1 {{'rho' has H = 4 but 'xi' has H = 8}}
  %0:2 = flt.spectral_features %r, %xi, %rho : tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<4x16xf32> -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
  return
}

// -----

// Rho frequencies.
func.func @f25(%r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %rho: tensor<8x12xf32>) {
  // expected-error @+1 {{'rho' has m_f = 12 but 'xi' has m_f = 16}}
  %0:2 = flt.spectral_features %r, %xi, %rho : tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x12xf32> -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
  return
}

// -----

// Features are 2 m_f wide.
func.func @f26(%r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %rho: tensor<8x16xf32>) {
  // expected-error @+1 {{'phi' has 2m_f = 16 but twice m_f of 'xi' (cos and sin columns) needs 32}}
  %0:2 = flt.spectral_features %r, %xi, %rho : tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<1x8x?x16xf32>, tensor<1x8x?x32xf32>
  return
}

// -----

// Psi length.
func.func @f27(%r: tensor<1x7x1xf32>, %xi: tensor<8x16x1xf32>, %rho: tensor<8x16xf32>) {
  // expected-error @+1 {{'psi' has L = 6 but 'r' has L = 7}}
  %0:2 = flt.spectral_features %r, %xi, %rho : tensor<1x7x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<1x8x7x32xf32>, tensor<1x8x6x32xf32>
  return
}

// -----

// Phi heads.
func.func @f28(%r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %rho: tensor<8x16xf32>) {
  // expected-error @+1 {{'phi' has H = 4 but 'xi' has H = 8}}
  %0:2 = flt.spectral_features %r, %xi, %rho : tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<1x4x?x32xf32>, tensor<1x8x?x32xf32>
  return
}

// -----

// Feature sizes of fq and fk.
func.func @f29(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x7x3xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'fk' has m = 3 but 'fq' has m = 4}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x2x7x3xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Heads of fq and fk: H_kv must divide H (grouped heads).
func.func @f30(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x3x7x4xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'fq' has H = 2 but 'fk' has H_kv = 3; grouped heads need H to be a positive multiple of H_kv}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x3x7x4xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Keys and values.
func.func @f31(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x6x6xf32>) {
  // expected-error @+1 {{'v' has S = 6 but 'fk' has S = 5}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x6x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Batch of v.
func.func @f32(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<2x2x5x6xf32>) {
  // expected-error @+1 {{'v' has B = 2 but 'fq' has B = 1}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<2x2x5x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// One element type.
func.func @f33(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf16>, %v: tensor<1x2x5x6xf32>) {
  // expected-error @+1 {{'fk' has element type 'f16' but 'fq' has 'f32'}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf16>, tensor<1x2x5x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Integer values.
func.func @f34(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xi8>) {
  // expected-error @+1 {{'v' must have element type f32, f16 or bf16, got 'i8'}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xi8> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Phi length.
func.func @f35(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>, %phi: tensor<1x2x6x8xf32>, %psi: tensor<1x2x5x8xf32>) {
  // expected-error @+1 {{'phi' has L = 6 but 'fq' has L = 7}}
  %0 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<1x2x6x8xf32>, tensor<1x2x5x8xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Psi length.
func.func @f36(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>, %phi: tensor<1x2x7x8xf32>, %psi: tensor<1x2x7x8xf32>) {
  // expected-error @+1 {{'psi' has S = 7 but 'fk' has S = 5}}
  %0 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<1x2x7x8xf32>, tensor<1x2x7x8xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Rpe ranks agree.
func.func @f37(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>, %phi: tensor<1x2x7x8xf32>, %psi: tensor<1x2x5x6xf32>) {
  // expected-error @+1 {{'psi' has r = 6 but 'phi' has r = 8}}
  %0 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<1x2x7x8xf32>, tensor<1x2x5x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Rpe features are f32.
func.func @f38(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>, %phi: tensor<1x2x7x8xf16>, %psi: tensor<1x2x5x8xf16>) {
  // expected-error @+1 {{'phi' must have element type f32, got 'f16'}}
  %0 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<1x2x7x8xf16>, tensor<1x2x5x8xf16> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Rpe needs both operands (generic form).
func.func @f39(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>, %phi: tensor<1x2x7x8xf32>) {
  // expected-error @+1 {{rpe needs both 'phi' and 'psi'}}
  %0 = "flt.linear_attention"(%fq, %fk, %v, %phi) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0>}> : (tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<1x2x7x8xf32>) -> tensor<1x2x7x6xf32>
  return
}

// -----

// Causal needs S = L.
func.func @f40(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>) {
  // expected-error @+1 {{causal attention needs S = L, but 'fk' has S = 5 and 'fq' has L = 7}}
  %0 = flt.linear_attention %fq, %fk, %v {causal = true} : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Result value width.
func.func @f41(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>) {
  // expected-error @+1 {{'result' has e = 4 but 'v' has e = 6}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32> -> tensor<1x2x7x4xf32>
  return
}

// -----

// Result length.
func.func @f42(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>) {
  // expected-error @+1 {{'result' has L = 5 but 'fq' has L = 7}}
  %0 = flt.linear_attention %fq, %fk, %v  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32> -> tensor<1x2x5x6xf32>
  return
}

// -----

// Fourier_integral needs scale.
func.func @f43(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{kernel fourier_integral needs 'scale' R [H, d]}}
  %0 = flt.kernel_attention %q, %k, %v {kernel = #flt.pair_kernel<fourier_integral>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Softmax takes no scale.
func.func @f44(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %R: tensor<2x4xf32>) {
  // expected-error @+1 {{kernel softmax takes no 'scale'}}
  %0 = flt.kernel_attention %q, %k, %v scale(%R)  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x4xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Dot takes no bias.
func.func @f45(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %b: tensor<2x13xf32>) {
  // expected-error @+1 {{kernel dot takes no 'bias'}}
  %0 = flt.kernel_attention %q, %k, %v bias(%b) {kernel = #flt.pair_kernel<dot>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x13xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Bias width is L + S - 1.
func.func @f46(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %b: tensor<2x14xf32>) {
  // expected-error @+1 {{'bias' has L+S-1 = 14 but L + S - 1 (b_{j-i} at column j - i + L - 1) needs 13}}
  %0 = flt.kernel_attention %q, %k, %v bias(%b)  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x14xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Bias heads.
func.func @f47(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %b: tensor<3x13xf32>) {
  // expected-error @+1 {{'bias' has H = 3 but 'q' has H = 2}}
  %0 = flt.kernel_attention %q, %k, %v bias(%b)  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<3x13xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Scale feature size.
func.func @f48(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %R: tensor<2x5xf32>) {
  // expected-error @+1 {{'scale' has d = 5 but 'q' has d = 4}}
  %0 = flt.kernel_attention %q, %k, %v scale(%R) {kernel = #flt.pair_kernel<fourier_integral>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x5xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Temperature is softmax only.
func.func @f49(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'temperature' applies only to kernel softmax}}
  %0 = flt.kernel_attention %q, %k, %v {kernel = #flt.pair_kernel<dot>, temperature = 1.0 : f32} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Power is fourier_integral only.
func.func @f50(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'power' applies only to kernel fourier_integral}}
  %0 = flt.kernel_attention %q, %k, %v {power = 2} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Power is positive.
func.func @f51(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %R: tensor<2x4xf32>) {
  // expected-error @+1 {{'power' must be positive, got 0}}
  %0 = flt.kernel_attention %q, %k, %v scale(%R) {kernel = #flt.pair_kernel<fourier_integral>, power = 0} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x4xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Normalize is dot only.
func.func @f52(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'normalize' and 'eps' apply only to kernel dot}}
  %0 = flt.kernel_attention %q, %k, %v {normalize = #flt.normalize<none>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Softmax with dynamic d needs a temperature.
func.func @f53(%q: tensor<1x2x7x?xf32>, %k: tensor<1x2x7x?xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{kernel softmax with a dynamic d needs an explicit 'temperature' (the default is 1/sqrt(d))}}
  %0 = flt.kernel_attention %q, %k, %v  : tensor<1x2x7x?xf32>, tensor<1x2x7x?xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Causal needs S = L.
func.func @f54(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x9x4xf32>, %v: tensor<1x2x9x6xf32>) {
  // expected-error @+1 {{causal attention needs S = L, but 'k' has S = 9 and 'q' has L = 7}}
  %0 = flt.kernel_attention %q, %k, %v {causal = true} : tensor<1x2x7x4xf32>, tensor<1x2x9x4xf32>, tensor<1x2x9x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Key feature size.
func.func @f55(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x5xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'k' has d = 5 but 'q' has d = 4}}
  %0 = flt.kernel_attention %q, %k, %v  : tensor<1x2x7x4xf32>, tensor<1x2x7x5xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Rpe phi heads.
func.func @f56(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %phi: tensor<1x3x7x8xf32>, %psi: tensor<1x2x7x8xf32>) {
  // expected-error @+1 {{'phi' has H = 3 but 'q' has H = 2}}
  %0 = flt.kernel_attention %q, %k, %v rpe(%phi, %psi)  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x3x7x8xf32>, tensor<1x2x7x8xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Rotary needs an even d.
func.func @f57(%x: tensor<1x2x7x5xf32>, %t: tensor<2x2xf32>) {
  // expected-error @+1 {{core rotary needs an even d, but 'x' has d = 5}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>} : tensor<1x2x7x5xf32>, tensor<2x2xf32> -> tensor<1x2x7x5xf32>
  return
}

// -----

// Rotary angles.
func.func @f58(%x: tensor<1x2x7x6xf32>, %t: tensor<2x6xf32>) {
  // expected-error @+1 {{'theta' has angles = 6 but core rotary (d/2 angles, d = 6) needs 3}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>} : tensor<1x2x7x6xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Complex angles.
func.func @f59(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>) {
  // expected-error @+1 {{'theta' has angles = 3 but 'x' has d = 6}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<complex>} : tensor<1x2x7x6xf32>, tensor<2x3xf32> -> tensor<1x2x7x12xf32>
  return
}

// -----

// Theta heads.
func.func @f60(%x: tensor<1x2x7x6xf32>, %t: tensor<4x3xf32>) {
  // expected-error @+1 {{'theta' has H = 4 but 'x' has H = 2}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>} : tensor<1x2x7x6xf32>, tensor<4x3xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Householder needs a vector.
func.func @f61(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>) {
  // expected-error @+1 {{mix householder needs a vector: mix(v) with v [H, d]}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<householder>} : tensor<1x2x7x6xf32>, tensor<2x3xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Identity mix takes no vector.
func.func @f62(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>, %hv: tensor<2x6xf32>) {
  // expected-error @+1 {{mix identity takes no mix(v) operand}}
  %0 = flt.position_transform %x, %t mix(%hv) {core = #flt.lrpe_core<rotary>} : tensor<1x2x7x6xf32>, tensor<2x3xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Householder vector size.
func.func @f63(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>, %hv: tensor<2x5xf32>) {
  // expected-error @+1 {{'mix' has d = 5 but 'x' has d = 6}}
  %0 = flt.position_transform %x, %t mix(%hv) {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<householder>} : tensor<1x2x7x6xf32>, tensor<2x3xf32>, tensor<2x5xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Positions length.
func.func @f64(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>, %s: tensor<1x8xf32>) {
  // expected-error @+1 {{'positions' has L = 8 but 'x' has L = 7}}
  %0 = flt.position_transform %x, %t positions(%s) {core = #flt.lrpe_core<rotary>} : tensor<1x2x7x6xf32>, tensor<2x3xf32>, tensor<1x8xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Offset with explicit positions.
func.func @f65(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>, %s: tensor<1x7xf32>) {
  // expected-error @+1 {{'offset' applies only without explicit positions}}
  %0 = flt.position_transform %x, %t positions(%s) {core = #flt.lrpe_core<rotary>, offset = 2} : tensor<1x2x7x6xf32>, tensor<2x3xf32>, tensor<1x7xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Pairing is rotary only.
func.func @f66(%x: tensor<1x2x7x6xf32>, %t: tensor<2x6xf32>) {
  // expected-error @+1 {{'pairing' applies only to core rotary}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<complex>, pairing = #flt.pairing<halves>} : tensor<1x2x7x6xf32>, tensor<2x6xf32> -> tensor<1x2x7x12xf32>
  return
}

// -----

// Rotary result size.
func.func @f67(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>) {
  // expected-error @+1 {{'result' has d' = 12 but core rotary (d of 'x') needs 6}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>} : tensor<1x2x7x6xf32>, tensor<2x3xf32> -> tensor<1x2x7x12xf32>
  return
}

// -----

// Complex result size.
func.func @f68(%x: tensor<1x2x7x6xf32>, %t: tensor<2x6xf32>) {
  // expected-error @+1 {{'result' has d' = 6 but core complex (2d, cos and sin of each y_t) needs 12}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<complex>} : tensor<1x2x7x6xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Keys have the queries' length.
func.func @f69(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>, %b: tensor<2x13xf32>) {
  // expected-error @+1 {{'fk' has S = 5 but 'fq' has L = 7}}
  %0 = flt.toeplitz_attention %fq, %fk, %v, %b  : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<2x13xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Bias width is 2L - 1.
func.func @f70(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %b: tensor<2x12xf32>) {
  // expected-error @+1 {{'b' has 2L-1 = 12 but 2L - 1 (b_{j-i} at column j - i + L - 1) needs 13}}
  %0 = flt.toeplitz_attention %fq, %fk, %v, %b  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x12xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Bias heads.
func.func @f71(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %b: tensor<1x13xf32>) {
  // expected-error @+1 {{'b' has H = 1 but 'fq' has H = 2}}
  %0 = flt.toeplitz_attention %fq, %fk, %v, %b  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x13xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Bias is f32.
func.func @f72(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %b: tensor<2x13xi32>) {
  // expected-error @+1 {{'b' must have element type f32, got 'i32'}}
  %0 = flt.toeplitz_attention %fq, %fk, %v, %b  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x13xi32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Result value width.
func.func @f73(%fq: tensor<1x2x7x4xf32>, %fk: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %b: tensor<2x13xf32>) {
  // expected-error @+1 {{'result' has e = 4 but 'v' has e = 6}}
  %0 = flt.toeplitz_attention %fq, %fk, %v, %b  : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x13xf32> -> tensor<1x2x7x4xf32>
  return
}

// -----

// Self-attention only.
func.func @f74(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{flt.attention is self-attention (one position tensor 'r' serves queries and keys), but 'k' has S = 5 and 'q' has L = 7}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Positions length.
func.func @f75(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x8x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'r' has L = 8 but 'q' has L = 7}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x8x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Position dimension.
func.func @f76(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x3xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'xi' has p = 3 but 'r' has p = 1}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x3xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Frequency heads.
func.func @f77(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<4x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'xi' has H = 4 but 'q' has H = 2}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<4x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Spectrum width.
func.func @f78(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x7xf32>) {
  // expected-error @+1 {{'theta' has P = 7 but spectrum gaussian_mixture with p = 1 needs a positive multiple of p + 2 = 3}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x7xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Local window width.
func.func @f79(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'theta' has P = 6 but spectrum local_window ([C, v]) needs 2}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<local_window>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Favor_pos needs a projection.
func.func @f80(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{kernel favor_pos needs a projection 'w' [H, m, d]}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Identity takes no projection.
func.func @f81(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>, %w: tensor<2x8x4xf32>) {
  // expected-error @+1 {{kernel identity takes no projection 'w'}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th proj(%w) {kernel = #flt.kernel<identity>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32>, tensor<2x8x4xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Projection input size.
func.func @f82(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>, %w: tensor<2x8x3xf32>) {
  // expected-error @+1 {{'w' has d = 3 but 'q' has d = 4}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th proj(%w) {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32>, tensor<2x8x3xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Result value width.
func.func @f83(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'result' has e = 4 but 'v' has e = 6}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x4xf32>
  return
}

// -----

// Values length.
func.func @f84(%q: tensor<1x2x7x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x6x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'v' has S = 6 but 'k' has S = 7}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x6x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Integer queries.
func.func @f85(%q: tensor<1x2x7x4xi32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'q' must have element type f32, f16 or bf16, got 'i32'}}
  %0 = flt.attention %q, %k, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xi32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Feature sizes must be positive.
func.func @zero_features(%q: tensor<1x2x7x0xf32>, %v: tensor<1x2x7x4xf32>) {
  // expected-error @+1 {{'fq' has m = 0; feature sizes must be positive}}
  %0 = flt.linear_attention %q, %q, %v : tensor<1x2x7x0xf32>, tensor<1x2x7x0xf32>, tensor<1x2x7x4xf32> -> tensor<1x2x7x4xf32>
  return
}

// -----

// Value widths too.
func.func @zero_values(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x0xf32>) {
  // expected-error @+1 {{'v' has e = 0; feature sizes must be positive}}
  %0 = flt.kernel_attention %q, %q, %v : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x0xf32> -> tensor<1x2x7x0xf32>
  return
}

// -----
// The compatibility forms (docs/Compatibility.md): one case per rule.

// The global key stabilizer is FAVOR+'s.
func.func @compat0(%x: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'key_stabilizer' applies only to kernel favor_pos}}
  %0 = flt.feature_map %x {kernel = #flt.kernel<relu>, key_stabilizer = #flt.key_stabilizer<global>} : tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// ... and the keys'.
func.func @compat1(%x: tensor<1x2x7x6xf32>, %w: tensor<2x8x6xf32>) {
  // expected-error @+1 {{'key_stabilizer' applies only to keys (is_query = false)}}
  %0 = flt.feature_map %x, %w {kernel = #flt.kernel<favor_pos>, is_query = true, key_stabilizer = #flt.key_stabilizer<global>} : tensor<1x2x7x6xf32>, tensor<2x8x6xf32> -> tensor<1x2x7x8xf32>
  return
}

// -----

// fourier_form is FourierFormer's.
func.func @compat2(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>) {
  // expected-error @+1 {{'fourier_form' applies only to kernel fourier_integral}}
  %0 = flt.kernel_attention %q, %q, %v {fourier_form = #flt.fourier_form<amplitude_eps>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// amplitude_eps reads eps, not normalize.
func.func @compat3(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %R: tensor<2x4xf32>) {
  // expected-error @+1 {{'normalize' applies only to kernel dot (fourier_form amplitude_eps reads 'eps' only)}}
  %0 = flt.kernel_attention %q, %q, %v scale(%R) {kernel = #flt.pair_kernel<fourier_integral>, fourier_form = #flt.fourier_form<amplitude_eps>, normalize = #flt.normalize<guarded>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x4xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// A negative eps.
func.func @compat4(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %R: tensor<2x4xf32>) {
  // expected-error @+1 {{fourier_form amplitude_eps needs eps >= 0, got -1}}
  %0 = flt.kernel_attention %q, %q, %v scale(%R) {kernel = #flt.pair_kernel<fourier_integral>, fourier_form = #flt.fourier_form<amplitude_eps>, eps = -1.0 : f32} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<2x4xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// The permutation table holds integers.
func.func @compat5(%x: tensor<1x2x7x6xf32>, %t: tensor<2x9x6xf32>) {
  // expected-error @+1 {{core permutation needs 'theta' [H, P, d] of i32 or i64}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<permutation>} : tensor<1x2x7x6xf32>, tensor<2x9x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// One table column per feature.
func.func @compat6(%x: tensor<1x2x7x6xf32>, %t: tensor<2x9x5xi32>) {
  // expected-error @+1 {{'theta' has d = 5 but 'x' has d = 6}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<permutation>} : tensor<1x2x7x6xf32>, tensor<2x9x5xi32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// The table's rows are the positions.
func.func @compat7(%x: tensor<1x2x7x6xf32>, %t: tensor<2x9x6xi32>, %s: tensor<1x7xf32>) {
  // expected-error @+1 {{core permutation takes no explicit positions}}
  %0 = flt.position_transform %x, %t positions(%s) {core = #flt.lrpe_core<permutation>} : tensor<1x2x7x6xf32>, tensor<2x9x6xi32>, tensor<1x7xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// Rows start at 0.
func.func @compat8(%x: tensor<1x2x7x6xf32>, %t: tensor<2x9x6xi32>) {
  // expected-error @+1 {{core permutation needs offset >= 0, got -1}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<permutation>, offset = -1} : tensor<1x2x7x6xf32>, tensor<2x9x6xi32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// No pairs to arrange.
func.func @compat9(%x: tensor<1x2x7x6xf32>, %t: tensor<2x9x6xi32>) {
  // expected-error @+1 {{'pairing' applies only to core rotary}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<permutation>, pairing = #flt.pairing<halves>} : tensor<1x2x7x6xf32>, tensor<2x9x6xi32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// A row for every position.
func.func @compat10(%x: tensor<1x2x7x6xf32>, %t: tensor<2x8x6xi32>) {
  // expected-error @+1 {{'theta' has P = 8 but core permutation (one table row per position) needs at least 9 (L + offset)}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<permutation>, offset = 2} : tensor<1x2x7x6xf32>, tensor<2x8x6xi32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// rotary_dims counts pairs of features.
func.func @compat11(%x: tensor<1x2x7x7xf32>, %t: tensor<2x1xf32>) {
  // expected-error @+1 {{'rotary_dims' must be a positive even number, got 3}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>, rotary_dims = 3} : tensor<1x2x7x7xf32>, tensor<2x1xf32> -> tensor<1x2x7x7xf32>
  return
}

// -----

// ... of x.
func.func @compat12(%x: tensor<1x2x7x6xf32>, %t: tensor<2x4xf32>) {
  // expected-error @+1 {{'x' has d = 6 but 'rotary_dims' = 8 needs at least 8 (rotary_dims)}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>, rotary_dims = 8} : tensor<1x2x7x6xf32>, tensor<2x4xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// One angle per pair.
func.func @compat13(%x: tensor<1x2x7x7xf32>, %t: tensor<2x3xf32>) {
  // expected-error @+1 {{'theta' has angles = 3 but core rotary with rotary_dims = 4 (2 angles) needs 2}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>, rotary_dims = 4} : tensor<1x2x7x7xf32>, tensor<2x3xf32> -> tensor<1x2x7x7xf32>
  return
}

// -----

// Only the rotary core pairs features.
func.func @compat14(%x: tensor<1x2x7x6xf32>, %t: tensor<2x6xf32>) {
  // expected-error @+1 {{'rotary_dims' applies only to core rotary}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<complex>, rotary_dims = 4} : tensor<1x2x7x6xf32>, tensor<2x6xf32> -> tensor<1x2x7x12xf32>
  return
}

// -----

// mix_eps normalizes the Householder vector.
func.func @compat15(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>) {
  // expected-error @+1 {{'mix_eps' applies only to mix householder}}
  %0 = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>, mix_eps = 1.0e-6 : f32} : tensor<1x2x7x6xf32>, tensor<2x3xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// ... and is not negative.
func.func @compat16(%x: tensor<1x2x7x6xf32>, %t: tensor<2x3xf32>, %hv: tensor<2x6xf32>) {
  // expected-error @+1 {{'mix_eps' must be >= 0}}
  %0 = flt.position_transform %x, %t mix(%hv) {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<householder>, mix_eps = -1.0 : f32} : tensor<1x2x7x6xf32>, tensor<2x3xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// The concat form's projection reads q and the positional features.
func.func @compat17(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>, %w: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'w' has d = 4 but rpe_form concat (the projection reads q and the positional features) needs 10}}
  %0 = flt.attention %q, %q, %v, %r, %xi, %th proj(%w) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>, rpe_form = #flt.rpe_form<concat>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32>, tensor<2x8x4xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// FAVOR+ needs its projection in the concat form too.
func.func @compat18(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{kernel favor_pos needs a projection 'w' [H, m, d + 2 m_f] (rpe_form concat)}}
  %0 = flt.attention %q, %q, %v, %r, %xi, %th {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>, rpe_form = #flt.rpe_form<concat>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// ... and elu_plus_one takes none.
func.func @compat19(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>, %w: tensor<2x8x10xf32>) {
  // expected-error @+1 {{kernel elu_plus_one takes no projection 'w'}}
  %0 = flt.attention %q, %q, %v, %r, %xi, %th proj(%w) {kernel = #flt.kernel<elu_plus_one>, spectrum = #flt.spectrum<gaussian_mixture>, rpe_form = #flt.rpe_form<concat>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32>, tensor<2x8x10xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// The layer's key stabilizer is FAVOR+'s.
func.func @compat20(%q: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %th: tensor<2x6xf32>) {
  // expected-error @+1 {{'key_stabilizer' applies only to kernel favor_pos}}
  %0 = flt.attention %q, %q, %v, %r, %xi, %th {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>, key_stabilizer = #flt.key_stabilizer<global>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32> -> tensor<1x2x7x6xf32>
  return
}

// -----

// docs/Semantics.md section 5. Grouped heads: psi is per query head.
func.func @serving0(%fq: tensor<1x4x7x4xf32>, %fk: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %phi: tensor<1x4x7x3xf32>, %psi: tensor<1x2x7x3xf32>) {
  // expected-error @+1 {{'psi' has H = 2 but 'fq' has H = 4}}
  %0 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x4x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x4x7x3xf32>, tensor<1x2x7x3xf32> -> tensor<1x4x7x6xf32>
  return
}

// -----

// Grouped heads: v has fk's heads.
func.func @serving1(%fq: tensor<1x4x7x4xf32>, %fk: tensor<1x2x7x4xf32>, %v: tensor<1x4x7x6xf32>) {
  // expected-error @+1 {{'v' has H_kv = 4 but 'fk' has H_kv = 2}}
  %0 = flt.linear_attention %fq, %fk, %v : tensor<1x4x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x4x7x6xf32> -> tensor<1x4x7x6xf32>
  return
}

// -----

// The state has m r rows.
func.func @serving2(%fq: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %phi: tensor<1x2x7x3xf32>, %t0: tensor<1x2x4x6xf32>, %z0: tensor<1x2x4xf32>) {
  // expected-error @+1 {{'T0' has m r = 4 but fk ⊗ psi features needs m r = 12}}
  %0:3 = flt.linear_attention %fq, %fq, %v rpe(%phi, %phi) state(%t0, %z0) : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x2x7x3xf32>, tensor<1x2x7x3xf32>, tensor<1x2x4x6xf32>, tensor<1x2x4xf32> -> tensor<1x2x7x6xf32>, tensor<1x2x4x6xf32>, tensor<1x2x4xf32>
  return
}

// -----

// The state is f32.
func.func @serving3(%fq: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %t0: tensor<1x2x4x6xf16>, %z0: tensor<1x2x4xf32>) {
  // expected-error @+1 {{'T0' must have element type f32, got 'f16'}}
  %0:3 = flt.linear_attention %fq, %fq, %v state(%t0, %z0) : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<1x2x4x6xf16>, tensor<1x2x4xf32> -> tensor<1x2x7x6xf32>, tensor<1x2x4x6xf16>, tensor<1x2x4xf32>
  return
}

// -----

// Packed sequences need B = 1.
func.func @serving4(%fq: tensor<2x2x7x4xf32>, %v: tensor<2x2x7x6xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'fq' has B = 2 but packed sequences needs 1}}
  %0 = flt.linear_attention %fq, %fq, %v packed(%cu) : tensor<2x2x7x4xf32>, tensor<2x2x7x4xf32>, tensor<2x2x7x6xf32>, tensor<3xi32> -> tensor<2x2x7x6xf32>
  return
}

// -----

// One state per packed sequence: N = 2 for cu_seqlens of 3 entries.
func.func @serving5(%fq: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x6xf32>, %cu: tensor<3xi32>, %t0: tensor<3x2x4x6xf32>, %z0: tensor<3x2x4xf32>) {
  // expected-error @+1 {{'T0' has B = 3 but one state per packed sequence needs 2}}
  %0:3 = flt.linear_attention %fq, %fq, %v state(%t0, %z0) packed(%cu) : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x6xf32>, tensor<3x2x4x6xf32>, tensor<3x2x4xf32>, tensor<3xi32> -> tensor<1x2x7x6xf32>, tensor<3x2x4x6xf32>, tensor<3x2x4xf32>
  return
}

// -----

// Lengths: one per batch, i32 or i64.
func.func @serving6(%fq: tensor<2x2x7x4xf32>, %v: tensor<2x2x7x6xf32>, %n: tensor<2xf32>) {
  // expected-error @+1 {{'lengths' must have element type i32 or i64}}
  %0 = flt.linear_attention %fq, %fq, %v lengths(%n) : tensor<2x2x7x4xf32>, tensor<2x2x7x4xf32>, tensor<2x2x7x6xf32>, tensor<2xf32> -> tensor<2x2x7x6xf32>
  return
}

// -----

func.func @serving7(%fq: tensor<2x2x7x4xf32>, %v: tensor<2x2x7x6xf32>, %n: tensor<3xi32>) {
  // expected-error @+1 {{'lengths' has B = 3 but 'fq' has B = 2}}
  %0 = flt.linear_attention %fq, %fq, %v lengths(%n) : tensor<2x2x7x4xf32>, tensor<2x2x7x4xf32>, tensor<2x2x7x6xf32>, tensor<3xi32> -> tensor<2x2x7x6xf32>
  return
}

// -----

// kernel_attention: one length per batch entry.
func.func @serving8(%q: tensor<2x2x7x4xf32>, %n: tensor<3xi32>) {
  // expected-error @+1 {{'lengths' has B = 3 but 'q' has B = 2}}
  %0 = flt.kernel_attention %q, %q, %q lengths(%n) {temperature = 0.5 : f32} : tensor<2x2x7x4xf32>, tensor<2x2x7x4xf32>, tensor<2x2x7x4xf32>, tensor<3xi32> -> tensor<2x2x7x4xf32>
  return
}

// -----

// kernel_attention: grouped heads must divide the query heads.
func.func @serving9(%q: tensor<1x4x7x4xf32>, %k: tensor<1x3x7x4xf32>) {
  // expected-error @+1 {{'q' has H = 4 but 'k' has H_kv = 3; grouped heads need H to be a positive multiple of H_kv}}
  %0 = flt.kernel_attention %q, %k, %k {temperature = 0.5 : f32} : tensor<1x4x7x4xf32>, tensor<1x3x7x4xf32>, tensor<1x3x7x4xf32> -> tensor<1x4x7x4xf32>
  return
}

// -----

// toeplitz_attention: the FFT method has no packed or padded forms.
func.func @serving10(%f: tensor<2x2x7x4xf32>, %b: tensor<2x13xf32>, %n: tensor<2xi32>) {
  // expected-error @+1 {{method fft takes no packed(...) or lengths(...) (use direct or auto)}}
  %0 = flt.toeplitz_attention %f, %f, %f, %b lengths(%n) {method = #flt.toeplitz_method<fft>} : tensor<2x2x7x4xf32>, tensor<2x2x7x4xf32>, tensor<2x2x7x4xf32>, tensor<2x13xf32>, tensor<2xi32> -> tensor<2x2x7x4xf32>
  return
}

// -----

// position_transform: packed sequences need B = 1.
func.func @serving11(%x: tensor<2x2x7x4xf32>, %theta: tensor<2x2xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{'x' has B = 2 but packed sequences needs 1}}
  %0 = flt.position_transform %x, %theta packed(%cu) {core = #flt.lrpe_core<rotary>} : tensor<2x2x7x4xf32>, tensor<2x2xf32>, tensor<3xi32> -> tensor<2x2x7x4xf32>
  return
}

// -----

// flt.attention: favor_pos features of two calls would not share a scale.
func.func @serving12(%q: tensor<1x2x7x4xf32>, %r: tensor<1x7x1xf32>, %xi: tensor<2x3x1xf32>, %theta: tensor<2x3xf32>, %w: tensor<2x5x4xf32>, %t0: tensor<1x2x30x4xf32>, %z0: tensor<1x2x30xf32>) {
  // expected-error @+1 {{state(...) with kernel favor_pos}}
  %0:3 = flt.attention %q, %q, %q, %r, %xi, %theta proj(%w) state(%t0, %z0) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>} : tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x7x1xf32>, tensor<2x3x1xf32>, tensor<2x3xf32>, tensor<2x5x4xf32>, tensor<1x2x30x4xf32>, tensor<1x2x30xf32> -> tensor<1x2x7x4xf32>, tensor<1x2x30x4xf32>, tensor<1x2x30xf32>
  return
}

// -----

// toeplitz_correlation (internal): keys' columns are a's.
func.func @correlation1(%fq: tensor<1x2x7x4xf32>, %a: tensor<1x2x7x3xf32>, %k: tensor<1x2x7x2xf32>) {
  // expected-error @+1 {{'keys' has c = 2 but 'a' has c = 3}}
  %0 = flt.toeplitz_correlation %fq, %a, %fq, %k : tensor<1x2x7x4xf32>, tensor<1x2x7x3xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x2xf32> -> tensor<2x13xf32>
  return
}

// -----

// toeplitz_correlation: one column per offset, 2L - 1.
func.func @correlation2(%fq: tensor<1x2x7x4xf32>, %a: tensor<1x2x7x3xf32>) {
  // expected-error @+1 {{'result' has 2L-1 = 14 but 2L - 1 (offset j - i at column j - i + L - 1) needs 13}}
  %0 = flt.toeplitz_correlation %fq, %a, %fq, %a : tensor<1x2x7x4xf32>, tensor<1x2x7x3xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x3xf32> -> tensor<2x14xf32>
  return
}

// -----

// toeplitz_correlation: packed sequences in the direct method only.
func.func @correlation3(%fq: tensor<1x2x7x4xf32>, %a: tensor<1x2x7x3xf32>, %cu: tensor<3xi32>) {
  // expected-error @+1 {{method fft takes no packed(...) (use direct or auto)}}
  %0 = flt.toeplitz_correlation %fq, %a, %fq, %a packed(%cu) {method = #flt.toeplitz_method<fft>} : tensor<1x2x7x4xf32>, tensor<1x2x7x3xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x3xf32>, tensor<3xi32> -> tensor<2x13xf32>
  return
}
