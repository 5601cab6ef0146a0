// The fused in-place Adam update (src/core/adam.ts through src/backend/nativeAdam.ts): one pass
// over a parameter, its gradient and both moments instead of ~10 tensor ops.
#include "kernels.h"

namespace stratum {

// adam(p, g, m, v, lr/bc1, beta1, beta2, eps, bc2): one fused in-place Adam update (torch.optim.Adam)
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  auto pa = info[0].As<Napi::Float32Array>();
  float* p = pa.Data();
  const float* g = F32(info[1]);
  float* m = F32(info[2]);
  float* v = F32(info[3]);
  float step = (float)D(info[4]), b1 = (float)D(info[5]), b2 = (float)D(info[6]), eps = (float)D(info[7]);
  float bc2 = (float)D(info[8]);
  float isq = 1.f / std::sqrt(bc2);
  long n = pa.ElementLength();
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) {
    float mi = b1 * m[i] + (1 - b1) * g[i];
    float vi = b2 * v[i] + (1 - b2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] -= step * mi / (std::sqrt(vi) * isq + eps);
  }
  return info.Env().Undefined();
}

}  // namespace stratum
