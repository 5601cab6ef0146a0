// The N-API module: registers every kernel under the name the JavaScript side calls it by
// (src/backend/nativeAddon.ts types them), each wrapped in Flushed (subnormal floats flushed for the
// call's duration), and what the loader compares before it uses the addon: the mask kernels' ABI
// number and the fused decomposition's weight table (decomposeSpec, decompose_spec.h).
//
// The kernels live by family: blas.cc (OpenBLAS glue, threading), conv.cc, elementwise.cc,
// mask_forward.cc / mask_backward.cc (the mask MLP), decompose.cc (fused encoder + heads),
// batchnorm.cc, adam.cc, swaps.cc (least squares + shape swaps); args.h checks their arguments.
// All buffers are Float32Arrays owned by JavaScript; every function writes into an output array
// the caller allocated.
#include "kernels.h"

namespace stratum {
namespace {

// maskAbi(): version of the mask kernels' calling convention (2: ε after dims, every size checked);
// the JavaScript side refuses an addon built from older sources (src/backend/nativeAddon.ts)
Napi::Value MaskAbi(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), 2); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  flushDenormalsInWorkers();
  exports.Set("sgemm", Napi::Function::New(env, Flushed<Sgemm>));
  exports.Set("batchMatMul", Napi::Function::New(env, Flushed<BatchMatMul>));
  exports.Set("conv2d", Napi::Function::New(env, Flushed<Conv2D>));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Flushed<Conv2DBackpropInput>));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Flushed<Conv2DBackpropFilter>));
  exports.Set("binary", Napi::Function::New(env, Flushed<Binary>));
  exports.Set("reduceSum", Napi::Function::New(env, Flushed<ReduceSum>));
  exports.Set("unary", Napi::Function::New(env, Flushed<Unary>));
  exports.Set("maskForward", Napi::Function::New(env, Flushed<MaskForward>));
  exports.Set("maskStats", Napi::Function::New(env, Flushed<MaskStats>));
  exports.Set("decomposeForward", Napi::Function::New(env, Flushed<DecomposeForward>));
  exports.Set("maskBackward", Napi::Function::New(env, Flushed<MaskBackward>));
  exports.Set("maxTanhError", Napi::Function::New(env, Flushed<MaxTanhError>));
  exports.Set("maxPoolGrad", Napi::Function::New(env, Flushed<MaxPoolGrad>));
  exports.Set("adam", Napi::Function::New(env, Flushed<AdamUpdate>));
  exports.Set("bnForward", Napi::Function::New(env, Flushed<BnForward>));
  exports.Set("bnBackward", Napi::Function::New(env, Flushed<BnBackward>));
  exports.Set("swapShapes", Napi::Function::New(env, Flushed<SwapShapes>));
  exports.Set("maskAbi", Napi::Function::New(env, MaskAbi));
  exports.Set("decomposeSpec", Napi::Function::New(env, DecomposeSpec));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("blasCore", Napi::Function::New(env, BlasCore));
  exports.Set("blasThreading", Napi::Function::New(env, BlasThreading));
  exports.Set("flushesDenormals", Napi::Function::New(env, FlushesDenormals));
  return exports;
}

}  // namespace
}  // namespace stratum

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return stratum::Init(env, exports); }

NODE_API_MODULE(stratum_native, Init)
