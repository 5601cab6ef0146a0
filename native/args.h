// Argument checking, shared by every kernel that takes sizes from outside (the mask MLP, the fused
// decomposition): every size such a kernel touches is asserted with these before it runs, so no
// caller (and no crafted document or model file) can make it read or write out of bounds. On a
// failed check the entry point throws a one-line RangeError (argFail) and runs nothing.
// Bodies in args.cc.
#pragma once
#include "kernels.h"

namespace stratum {

// ---------------------------------------------------------------- fused mask MLP (src/core/maskNet.ts)
// Forward and backward of f(x, y, p) for B images × P pixels in one call each, so the [B, P, 128]
// activations never become separate tfjs tensors. Same math as maskNet() + groupNorm():
//   pre_0 = [x,y]·W_xy + p·W_p + b_0,  pre_i = a_{i-1}·W_i + b_i
//   xhat_i = (pre_i − μ)·rstd  (group stats per image: 'image', per pixel: 'pixel')
//   a_i = tanh(γ_i·xhat_i + β_i),  m = sigmoid(a_{L-1}·w_o + b_o)
struct MaskDims {
  int B, P, K, H, G, L;
  bool pixel;
  double eps;  // GroupNorm ε (src/core/maskSpec.ts MASK_EPS)
  // 'image' mode: the per-image statistics are those of the first R pixels of each image (the
  // reference grid, src/core/maskNet.ts maskNetWithReference); R = P normally
  int R;
};

// Bounds of the mask MLP, the same as MASK_LIMITS in src/core/maskSpec.ts: the per-thread
// GroupNorm buffers below hold MAX_MASK_GROUPS groups and MAX_MASK_HIDDEN channels.
constexpr int MAX_MASK_K = 256, MAX_MASK_HIDDEN = 1024, MAX_MASK_DEPTH = 16, MAX_MASK_GROUPS = 256;

// per-channel copies of per-group values: out[h] = v[h / C]
inline void expandGroups(const float* v, int G, int C, float* out) {
  for (int g = 0; g < G; g++)
    for (int c = 0; c < C; c++) out[g * C + c] = v[g];
}

struct ArgError {
  std::string msg;
};

inline bool isF32(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

// dims [B, P, K, H, G, L, pixel] or [B, P, K, H, G, L, pixel, R] and ε. R (≤ P; 0 or absent: P):
// in 'image' mode the per-image statistics are those of the first R pixels (the reference grid)
MaskDims ParseDims(const Napi::Value& dv, const Napi::Value& ev, ArgError& e);

// a Float32Array of exactly n values (nullptr and e.msg set otherwise, or when e already failed)
float* F32N(const Napi::Value& v, size_t n, const char* what, ArgError& e);

// a list of Float32Arrays of the given lengths; with `optional` an empty list is accepted too
std::vector<float*> F32ListN(const Napi::Value& v, const std::vector<size_t>& lens, bool optional, const char* what, ArgError& e);

// weight (and gradient) sizes in the order of src/core/maskSpec.ts
std::vector<size_t> weightLens(const MaskDims& d);

// throws RangeError "fn: message" and returns undefined
Napi::Value argFail(const Napi::Env& env, const char* fn, const ArgError& e);

// the mask MLP's forward on checked arguments (maskForward, and decomposeForward's every step; mask_forward.cc)
void maskForwardCore(const MaskDims& d, const float* coords, const float* p, const std::vector<float*>& w, float* masks,
                     const std::vector<float*>& xhat, const std::vector<float*>& act, const std::vector<float*>& rstd,
                     const std::vector<float*>& sMean, const std::vector<float*>& sRstd);

}  // namespace stratum
