// BLAS glue and threading: the matrix products tfjs hands over (sgemm, batched matmul) as
// OpenBLAS calls, the grow-only scratch buffers the other kernels share, the subnormal-float flags
// of the worker threads, and what the JavaScript side asks about the linked OpenBLAS (its kernel
// set, its threading, the thread count). Everything here talks to OpenBLAS or OpenMP directly;
// the kernels elsewhere only call cblas_* on checked sizes.
#include "kernels.h"

// OpenBLAS's pthread pool is created when the library loads; shutting it down makes the next
// threaded call re-create it (weak: not every OpenBLAS build exports it).
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));

namespace stratum {

// worker threads: set the flags in every OpenMP thread (a persistent pool), and re-create
// OpenBLAS's pool from a thread that has them (new threads inherit the floating-point environment)
void flushDenormalsInWorkers() {
#ifdef STRATUM_MXCSR
  FlushDenormals guard;
#pragma omp parallel
  { _mm_setcsr(_mm_getcsr() | kFlushDenormals); }
  if (blas_thread_shutdown_) blas_thread_shutdown_();
#endif
}

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, [aOff, bOff, cOff])
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  bool ta = info[0].As<Napi::Boolean>();
  bool tb = info[1].As<Napi::Boolean>();
  int M = I(info[2]), N = I(info[3]), K = I(info[4]);
  float alpha = (float)D(info[5]);
  float* A = F32(info[6]);
  int lda = I(info[7]);
  float* B = F32(info[8]);
  int ldb = I(info[9]);
  float beta = (float)D(info[10]);
  float* C = F32(info[11]);
  int ldc = I(info[12]);
  size_t ao = info.Length() > 13 ? (size_t)D(info[13]) : 0;
  size_t bo = info.Length() > 14 ? (size_t)D(info[14]) : 0;
  size_t co = info.Length() > 15 ? (size_t)D(info[15]) : 0;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A + ao, lda,
              B + bo, ldb, beta, C + co, ldc);
  return info.Env().Undefined();
}

// batched matmul: a [batchA, ...], b [batchB, ...]; batch broadcast when a batch count is 1
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  bool ta = info[0].As<Napi::Boolean>();
  bool tb = info[1].As<Napi::Boolean>();
  int batch = I(info[2]), batchA = I(info[3]), batchB = I(info[4]);
  int M = I(info[5]), N = I(info[6]), K = I(info[7]);
  float* A = F32(info[8]);
  float* B = F32(info[9]);
  float* C = F32(info[10]);
  int lda = ta ? M : K, ldb = tb ? K : N;
  size_t sa = (size_t)M * K, sb = (size_t)K * N, sc = (size_t)M * N;
  if (batchB == 1 && !ta && batchA == batch) {
    // one big GEMM: stack the batch into rows
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, batch * M, N, K, 1.f, A, K, B, ldb, 0.f, C, N);
    return info.Env().Undefined();
  }
  for (int i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f,
                A + (batchA == 1 ? 0 : i * sa), lda, B + (batchB == 1 ? 0 : i * sb), ldb, 0.f, C + i * sc, N);
  }
  return info.Env().Undefined();
}

// grow-only scratch buffers, reused across calls (all calls come from the JS main thread), so a
// training step does not allocate and page-fault ~100 MB of temporaries per mask-MLP call
float* scratch(int slot, size_t n) {
  static std::vector<float> bufs[8];
  if (bufs[slot].size() < n) bufs[slot].resize(n);
  return bufs[slot].data();
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  if (info.Length() > 0) openblas_set_num_threads(I(info[0]));
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

// whether the kernels flush subnormal floats to zero on this CPU architecture
Napi::Value FlushesDenormals(const Napi::CallbackInfo& info) {
#ifdef STRATUM_MXCSR
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// which OpenBLAS kernel set runs (DYNAMIC_ARCH builds pick it when the library loads)
Napi::Value BlasCore(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), openblas_get_corename());
}

// blasThreading(): how the linked OpenBLAS runs in parallel (scripts/blas-link.mjs picks the build)
Napi::Value BlasThreading(const Napi::CallbackInfo& info) {
  const int p = openblas_get_parallel();
  return Napi::String::New(info.Env(), p == 2 ? "openmp" : p == 1 ? "pthread" : "sequential");
}

}  // namespace stratum
