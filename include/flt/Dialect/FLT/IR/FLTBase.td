//===- FLTBase.td - flt dialect and its enum attributes ------*- tablegen -*-===//
//
// The flt dialect states attention with relative positional encodings at the
// level a model author thinks in. docs/Semantics.md fixes every spelling defined here.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_IR_FLTBASE_TD
#define FLT_DIALECT_FLT_IR_FLTBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def FLT_Dialect : Dialect {
  let name = "flt";
  let cppNamespace = "::mlir::flt";
  let summary = "Linear attention with relative positional encodings";
  let description = [{
    The `flt` dialect represents attention with spectral relative positional
    encodings (FourierLearner-Transformers: an RPE mask f(r_i - r_j) learned
    through its Fourier transform and made linear by random Fourier
    features), together with the related methods of the same line of work:
    LRPE unitary position transforms, Toeplitz RPE computed with the FFT, and
    FourierFormer's generalized Fourier-integral kernel.

    Every op works on ranked tensors with value semantics, uses the
    `[B, H, L, F]` layout of PyTorch's `scaled_dot_product_attention` for
    per-token tensors, and accepts dynamic B, L and S. q/k/v/out may be f32,
    f16 or bf16 (compute is f32); positions and spectral parameters are f32.

    A complete FLT layer is one op:

    ```mlir
    %o = flt.attention %q, %k, %v, %r, %xi, %theta
           {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>}
         : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
           tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32>
        -> tensor<1x8x?x64xf32>
    ```

    and `flt-decompose` expands it into `flt.feature_map`,
    `flt.spectral_density`, `flt.spectral_features` and
    `flt.linear_attention`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Enums. C++ case names are CamelCase (`auto` is a C++ keyword); the textual
// spelling is docs/Semantics.md's.
//===----------------------------------------------------------------------===//

class FLT_Enum<string name, string summary, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, summary, cases> {
  let cppNamespace = "::mlir::flt";
  let genSpecializedAttr = 0;
}

class FLT_EnumAttr<EnumAttrInfo enumInfo, string mnemonic>
    : EnumAttr<FLT_Dialect, enumInfo, mnemonic> {
  let assemblyFormat = "`<` $value `>`";
}

def FLT_Kernel : FLT_Enum<"Kernel", "kernel feature map phi", [
  I32EnumAttrCase<"Identity", 0, "identity">,
  I32EnumAttrCase<"Relu", 1, "relu">,
  I32EnumAttrCase<"EluPlusOne", 2, "elu_plus_one">,
  I32EnumAttrCase<"FavorPos", 3, "favor_pos">]>;
def FLT_KernelAttr : FLT_EnumAttr<FLT_Kernel, "kernel">;

def FLT_Spectrum : FLT_Enum<"Spectrum", "learned RPE spectrum g", [
  I32EnumAttrCase<"GaussianMixture", 0, "gaussian_mixture">,
  I32EnumAttrCase<"LocalWindow", 1, "local_window">]>;
def FLT_SpectrumAttr : FLT_EnumAttr<FLT_Spectrum, "spectrum">;

def FLT_Weighting : FLT_Enum<"Weighting",
    "which random-feature side carries the importance weights", [
  I32EnumAttrCase<"QuerySide", 0, "query_side">,
  I32EnumAttrCase<"BothSides", 1, "both_sides">]>;
def FLT_WeightingAttr : FLT_EnumAttr<FLT_Weighting, "weighting">;

def FLT_Normalize : FLT_Enum<"Normalize", "attention row normalization", [
  I32EnumAttrCase<"Divide", 0, "divide">,
  I32EnumAttrCase<"Guarded", 1, "guarded">,
  I32EnumAttrCase<"None", 2, "none">]>;
def FLT_NormalizeAttr : FLT_EnumAttr<FLT_Normalize, "normalize">;

def FLT_PairKernel : FLT_Enum<"PairKernel", "pairwise attention kernel", [
  I32EnumAttrCase<"Softmax", 0, "softmax">,
  I32EnumAttrCase<"Dot", 1, "dot">,
  I32EnumAttrCase<"FourierIntegral", 2, "fourier_integral">]>;
def FLT_PairKernelAttr : FLT_EnumAttr<FLT_PairKernel, "pair_kernel">;

def FLT_LrpeCore : FLT_Enum<"LrpeCore", "LRPE unitary core", [
  I32EnumAttrCase<"Rotary", 0, "rotary">,
  I32EnumAttrCase<"Complex", 1, "complex">,
  I32EnumAttrCase<"Permutation", 2, "permutation">]>;
def FLT_LrpeCoreAttr : FLT_EnumAttr<FLT_LrpeCore, "lrpe_core">;

def FLT_LrpeMix : FLT_Enum<"LrpeMix", "LRPE mixing transform P", [
  I32EnumAttrCase<"Identity", 0, "identity">,
  I32EnumAttrCase<"Householder", 1, "householder">,
  I32EnumAttrCase<"OddEven", 2, "odd_even">,
  I32EnumAttrCase<"OddEvenInverse", 3, "odd_even_inverse">]>;
def FLT_LrpeMixAttr : FLT_EnumAttr<FLT_LrpeMix, "lrpe_mix">;

def FLT_Pairing : FLT_Enum<"Pairing", "how rotary pairs features", [
  I32EnumAttrCase<"Interleaved", 0, "interleaved">,
  I32EnumAttrCase<"Halves", 1, "halves">]>;
def FLT_PairingAttr : FLT_EnumAttr<FLT_Pairing, "pairing">;

def FLT_ToeplitzMethod : FLT_Enum<"ToeplitzMethod",
    "how Toeplitz products are computed", [
  I32EnumAttrCase<"Auto", 0, "auto">,
  I32EnumAttrCase<"Fft", 1, "fft">,
  I32EnumAttrCase<"Direct", 2, "direct">]>;
def FLT_ToeplitzMethodAttr : FLT_EnumAttr<FLT_ToeplitzMethod, "toeplitz_method">;

// Compatibility forms (docs/Compatibility.md): how the papers' official code
// computes what the default spellings compute as the papers write it.

def FLT_Density : FLT_Enum<"Density",
    "density the random frequencies are weighted against", [
  I32EnumAttrCase<"Normal", 0, "normal">,
  I32EnumAttrCase<"Normal1dConstant", 1, "normal_1d_constant">]>;
def FLT_DensityAttr : FLT_EnumAttr<FLT_Density, "density">;

def FLT_KeyStabilizer : FLT_Enum<"KeyStabilizer",
    "what the favor_pos key stabilizer is a maximum over", [
  I32EnumAttrCase<"PerHead", 0, "per_head">,
  I32EnumAttrCase<"Global", 1, "global">]>;
def FLT_KeyStabilizerAttr : FLT_EnumAttr<FLT_KeyStabilizer, "key_stabilizer">;

def FLT_RpeForm : FLT_Enum<"RpeForm",
    "how an FLT layer applies its relative positional encoding", [
  I32EnumAttrCase<"Mask", 0, "mask">,
  I32EnumAttrCase<"Concat", 1, "concat">]>;
def FLT_RpeFormAttr : FLT_EnumAttr<FLT_RpeForm, "rpe_form">;

def FLT_FourierForm : FLT_Enum<"FourierForm",
    "how fourier_integral scores are normalized", [
  I32EnumAttrCase<"Normalized", 0, "normalized">,
  I32EnumAttrCase<"AmplitudeEps", 1, "amplitude_eps">]>;
def FLT_FourierFormAttr : FLT_EnumAttr<FLT_FourierForm, "fourier_form">;

#endif // FLT_DIALECT_FLT_IR_FLTBASE_TD
