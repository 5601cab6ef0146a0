// Argument checking for the kernels that take sizes from outside (the mask MLP, the fused
// decomposition): the mask MLP's dims and ε, typed arrays of an exact length, lists of them, the
// mask weights' lengths in the order of src/core/maskSpec.ts, and the one-line RangeError a
// failed check throws. Declared in args.h.
#include "args.h"

namespace stratum {

// dims [B, P, K, H, G, L, pixel] or [B, P, K, H, G, L, pixel, R] and ε. R (≤ P; 0 or absent: P):
// in 'image' mode the per-image statistics are those of the first R pixels (the reference grid)
MaskDims ParseDims(const Napi::Value& dv, const Napi::Value& ev, ArgError& e) {
  MaskDims d{};
  const uint32_t len = dv.IsArray() ? dv.As<Napi::Array>().Length() : 0;
  if (len != 7 && len != 8) {
    e.msg = "dims must be [B, P, K, H, G, L, pixel] or [B, P, K, H, G, L, pixel, R]";
    return d;
  }
  auto a = dv.As<Napi::Array>();
  double x[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (uint32_t i = 0; i < len; i++) {
    Napi::Value v = a.Get(i);
    x[i] = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(x[i] >= 0 && x[i] <= 2147483647.0 && x[i] == std::floor(x[i]))) {
      e.msg = "dims must be non-negative integers";
      return d;
    }
  }
  d = MaskDims{(int)x[0], (int)x[1], (int)x[2], (int)x[3], (int)x[4], (int)x[5], x[6] != 0, 0, 0};
  d.R = x[7] > 0 ? (int)x[7] : d.P;
  if (d.B < 1 || d.P < 1 || (double)d.B * d.P > 2147483647.0) e.msg = "B and P must be >= 1 with B*P < 2^31";
  else if (d.K < 1 || d.K > MAX_MASK_K) e.msg = "K out of range [1, 256]";
  else if (d.H < 1 || d.H > MAX_MASK_HIDDEN) e.msg = "hidden width out of range [1, 1024]";
  else if (d.G < 1 || d.G > MAX_MASK_GROUPS || d.H % d.G != 0) e.msg = "groups must lie in [1, 256] and divide the hidden width";
  else if (d.L < 1 || d.L > MAX_MASK_DEPTH) e.msg = "depth out of range [1, 16]";
  else if (x[6] > 1) e.msg = "pixel flag must be 0 or 1";
  else if (d.R < 1 || d.R > d.P) e.msg = "statistics pixels R must lie in [1, P]";
  if (!e.msg.empty()) return d;
  d.eps = ev.IsNumber() ? ev.As<Napi::Number>().DoubleValue() : -1;
  if (!(d.eps > 0 && d.eps <= 1)) e.msg = "GroupNorm epsilon must lie in (0, 1]";
  return d;
}

// a Float32Array of exactly n values
float* F32N(const Napi::Value& v, size_t n, const char* what, ArgError& e) {
  if (!e.msg.empty()) return nullptr;
  if (!isF32(v)) {
    e.msg = std::string(what) + " must be a Float32Array";
    return nullptr;
  }
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() != n) {
    e.msg = std::string(what) + " holds " + std::to_string(a.ElementLength()) + " values, expected " + std::to_string(n);
    return nullptr;
  }
  return a.Data();
}

// a list of Float32Arrays of the given lengths; with `optional` an empty list is accepted too
std::vector<float*> F32ListN(const Napi::Value& v, const std::vector<size_t>& lens, bool optional, const char* what, ArgError& e) {
  std::vector<float*> out;
  if (!e.msg.empty()) return out;
  if (!v.IsArray()) {
    e.msg = std::string(what) + " must be a list";
    return out;
  }
  auto a = v.As<Napi::Array>();
  if (optional && a.Length() == 0) return out;
  if (a.Length() != lens.size()) {
    e.msg = std::string(what) + " must hold " + std::to_string(lens.size()) + " arrays";
    return out;
  }
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(F32N(a.Get(i), lens[i], what, e));
  return out;
}

// weight (and gradient) sizes in the order of src/core/maskSpec.ts
std::vector<size_t> weightLens(const MaskDims& d) {
  std::vector<size_t> n;
  for (int i = 0; i < d.L; i++) {
    n.push_back((size_t)(i == 0 ? d.K + 2 : d.H) * d.H);
    n.insert(n.end(), {(size_t)d.H, (size_t)d.H, (size_t)d.H});
  }
  n.push_back((size_t)d.H);
  n.push_back(1);
  return n;
}

Napi::Value argFail(const Napi::Env& env, const char* fn, const ArgError& e) {
  Napi::RangeError::New(env, std::string(fn) + ": " + e.msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace stratum
