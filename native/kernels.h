// Shared declarations of the addon's sources (native/*.cc): the includes, the subnormal-float
// guard every entry point runs under, the fast tanh, the unchecked argument getters of the tfjs
// kernels (whose sizes tfjs itself computed, src/backend/nativeKernels.ts), the helpers one family
// lends another (scratch buffers, im2col, the mask MLP's forward), and every N-API entry point,
// registered in stratum_native.cc. Kernels that take sizes from outside check them with args.h.
#pragma once
#include <napi.h>
#include <cblas.h>
#include <cmath>
#include <omp.h>
#include <cstring>
#include <string>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define STRATUM_MXCSR 1
#endif

namespace stratum {

// ---------------------------------------------------------------- subnormal floats
// Arithmetic on subnormal floats (|x| < 1.2e-38) is ~70x slower on x86 (a 1024^3 sgemm: 2.0 s vs
// 0.03 s here). They appear in training when sigmoid outputs saturate (Fashion-MNIST's black
// backgrounds: σ' underflows), and made a baseline's steps 4x slower. Our kernels therefore run with
// flush-to-zero and denormals-are-zero. Node's own thread must keep IEEE semantics for JavaScript,
// so every entry point sets the flags for its duration and restores them (FlushDenormals); the
// OpenMP and OpenBLAS worker threads only ever run our kernels and keep the flags (see Init).
#ifdef STRATUM_MXCSR
constexpr unsigned kFlushDenormals = 0x8040;  // MXCSR FTZ (bit 15) | DAZ (bit 6)
struct FlushDenormals {
  unsigned saved;
  FlushDenormals() : saved(_mm_getcsr()) { _mm_setcsr(saved | kFlushDenormals); }
  ~FlushDenormals() { _mm_setcsr(saved); }
};
#else
struct FlushDenormals {};
#endif

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Flushed(const Napi::CallbackInfo& info) {
  FlushDenormals guard;
  return F(info);
}

// set the flags in the OpenMP and OpenBLAS worker threads (blas.cc)
void flushDenormalsInWorkers();

// tanh as a 13/6 rational approximation (the one Eigen uses), |error| < 2e-7 on floats, and
// vectorisable, unlike std::tanh which dominated the mask MLP's time.
inline float fastTanh(float x) {
  const float lim = 7.90531110763549805f;
  x = x > lim ? lim : (x < -lim ? -lim : x);
  const float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  p = x * p;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  return p / q;
}

// unchecked getters: only for arguments whose sizes the caller derived from tfjs tensors
inline float* F32(const Napi::Value& v) {
  auto a = v.As<Napi::Float32Array>();
  return a.Data();
}
inline int I(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }
inline double D(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
inline std::vector<int> Ints(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  std::vector<int> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int32Value();
  return out;
}

// grow-only scratch buffers, reused across calls (blas.cc)
float* scratch(int slot, size_t n);

// im2col NHWC: x [N,H,W,C] -> cols [N*OH*OW, KH*KW*C] (conv.cc)
void im2col(const float* x, int N, int H, int W, int C, int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW, int OH,
            int OW, float* cols);

// N-API entry points, by file
// blas.cc
Napi::Value Sgemm(const Napi::CallbackInfo& info);
Napi::Value BatchMatMul(const Napi::CallbackInfo& info);
Napi::Value Threads(const Napi::CallbackInfo& info);
Napi::Value FlushesDenormals(const Napi::CallbackInfo& info);
Napi::Value BlasCore(const Napi::CallbackInfo& info);
Napi::Value BlasThreading(const Napi::CallbackInfo& info);
// conv.cc
Napi::Value Conv2D(const Napi::CallbackInfo& info);
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info);
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info);
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info);
// elementwise.cc
Napi::Value Binary(const Napi::CallbackInfo& info);
Napi::Value ReduceSum(const Napi::CallbackInfo& info);
Napi::Value Unary(const Napi::CallbackInfo& info);
Napi::Value MaxTanhError(const Napi::CallbackInfo& info);
// mask_forward.cc, mask_backward.cc
Napi::Value MaskForward(const Napi::CallbackInfo& info);
Napi::Value MaskStats(const Napi::CallbackInfo& info);
Napi::Value MaskBackward(const Napi::CallbackInfo& info);
// decompose.cc
Napi::Value DecomposeForward(const Napi::CallbackInfo& info);
Napi::Value DecomposeSpec(const Napi::CallbackInfo& info);
// batchnorm.cc
Napi::Value BnForward(const Napi::CallbackInfo& info);
Napi::Value BnBackward(const Napi::CallbackInfo& info);
// adam.cc
Napi::Value AdamUpdate(const Napi::CallbackInfo& info);
// swaps.cc
Napi::Value SwapShapes(const Napi::CallbackInfo& info);

}  // namespace stratum
