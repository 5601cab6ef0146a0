// Native CPU kernels for Stratum's tfjs backend (src/backend/native.ts).
// Matrix products go to OpenBLAS (cblas_sgemm); convolutions are im2col/col2im + sgemm in NHWC;
// broadcasting binary ops and reductions are tight loops. All buffers are Float32Arrays owned by
// JavaScript; every function writes into an output array the caller allocated.
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

// OpenBLAS's pthread pool is created when the library loads; shutting it down makes the next
// threaded call re-create it (weak: not every OpenBLAS build exports it).
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));

namespace {

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

float* F32(const Napi::Value& v) {
  auto a = v.As<Napi::Float32Array>();
  return a.Data();
}
int I(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }
double D(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
std::vector<int> Ints(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  std::vector<int> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int32Value();
  return out;
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
static float* scratch(int slot, size_t n) {
  static std::vector<float> bufs[8];
  if (bufs[slot].size() < n) bufs[slot].resize(n);
  return bufs[slot].data();
}

// im2col NHWC: x [N,H,W,C] -> cols [N*OH*OW, KH*KW*C]
void im2col(const float* x, int N, int H, int W, int C, int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW, int OH,
            int OW, float* cols) {
  const size_t rowLen = (size_t)KH * KW * C;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        float* row = cols + (((size_t)n * OH + oh) * OW + ow) * rowLen;
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * SH - PT + kh * DH;
          for (int kw = 0; kw < KW; kw++) {
            int iw = ow * SW - PL + kw * DW;
            float* dst = row + ((size_t)kh * KW + kw) * C;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
              std::memset(dst, 0, sizeof(float) * C);
            } else {
              std::memcpy(dst, x + (((size_t)n * H + ih) * W + iw) * C, sizeof(float) * C);
            }
          }
        }
      }
    }
  }
}

// col2im NHWC (accumulate): cols [N*OH*OW, KH*KW*C] -> dx [N,H,W,C] (dx zeroed here)
void col2im(const float* cols, int N, int H, int W, int C, int KH, int KW, int SH, int SW, int PT, int PL, int DH, int DW,
            int OH, int OW, float* dx) {
  const size_t rowLen = (size_t)KH * KW * C;
  std::memset(dx, 0, sizeof(float) * (size_t)N * H * W * C);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    for (int oh = 0; oh < OH; oh++) {
      for (int ow = 0; ow < OW; ow++) {
        const float* row = cols + (((size_t)n * OH + oh) * OW + ow) * rowLen;
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            int iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const float* src = row + ((size_t)kh * KW + kw) * C;
            float* dst = dx + (((size_t)n * H + ih) * W + iw) * C;
            for (int c = 0; c < C; c++) dst[c] += src[c];
          }
        }
      }
    }
  }
}

struct ConvGeom {
  int N, H, W, C, KH, KW, SH, SW, PT, PL, DH, DW, OH, OW, CO;
};
ConvGeom Geom(const Napi::Value& v) {
  auto g = Ints(v);
  return ConvGeom{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14]};
}

// Taps of the filter that touch the input for at least one output position. On tiny feature maps
// (ResNet-18's last stage is 1×1 at 32² input) most taps only ever see zero padding; dropping them
// turns a 3×3 convolution into a 1×1 one.
static void tapRange(int K, int S, int P, int Dl, int In, int Out, int& k0, int& k1) {
  k0 = K;
  k1 = -1;
  for (int k = 0; k < K; k++) {
    bool ok = false;
    for (int o = 0; o < Out && !ok; o++) {
      int i = o * S - P + k * Dl;
      ok = i >= 0 && i < In;
    }
    if (ok) {
      if (k < k0) k0 = k;
      k1 = k;
    }
  }
  if (k1 < 0) k0 = k1 = 0;
}

struct Reduced {
  ConvGeom g;
  int kh0, kw0;
  bool full;
};

static Reduced reduceTaps(const ConvGeom& g) {
  int kh0, kh1, kw0, kw1;
  tapRange(g.KH, g.SH, g.PT, g.DH, g.H, g.OH, kh0, kh1);
  tapRange(g.KW, g.SW, g.PL, g.DW, g.W, g.OW, kw0, kw1);
  Reduced r{g, kh0, kw0, kh0 == 0 && kw0 == 0 && kh1 == g.KH - 1 && kw1 == g.KW - 1};
  r.g.KH = kh1 - kh0 + 1;
  r.g.KW = kw1 - kw0 + 1;
  r.g.PT = g.PT - kh0 * g.DH;
  r.g.PL = g.PL - kw0 * g.DW;
  return r;
}

// W [KH,KW,C,CO] -> the sub-block of used taps
static const float* gatherW(const ConvGeom& full, const Reduced& r, const float* w, std::vector<float>& buf) {
  if (r.full) return w;
  const size_t blk = (size_t)full.C * full.CO;
  buf.resize((size_t)r.g.KH * r.g.KW * blk);
  for (int a = 0; a < r.g.KH; a++)
    for (int b = 0; b < r.g.KW; b++)
      std::memcpy(buf.data() + ((size_t)a * r.g.KW + b) * blk, w + ((size_t)(r.kh0 + a) * full.KW + (r.kw0 + b)) * blk, sizeof(float) * blk);
  return buf.data();
}

static inline bool pointwise(const ConvGeom& g) { return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0; }

// geometry with all-padding taps dropped, and the matching filter sub-block
struct ConvCall {
  ConvGeom full;
  Reduced r;
  std::vector<float> wbuf;
  const float* w;
  int rows, depth;
  ConvCall(const Napi::Value& geom, const float* w0) : full(Geom(geom)), r(reduceTaps(full)) {
    w = w0 ? gatherW(full, r, w0, wbuf) : nullptr;
    rows = r.g.N * r.g.OH * r.g.OW;
    depth = r.g.KH * r.g.KW * r.g.C;
  }
};

// conv2d(geom, x, w [KH,KW,C,CO], y [N,OH,OW,CO])
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  float* x = F32(info[1]);
  float* y = F32(info[3]);
  ConvCall cc(info[0], F32(info[2]));
  const ConvGeom& g = cc.r.g;
  const float* w = cc.w;
  const int rows = cc.rows, depth = cc.depth;
  if (pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g.CO, depth, 1.f, x, depth, w, g.CO, 0.f, y, g.CO);
  } else {
    float* cols = scratch(0, (size_t)rows * depth);
    im2col(x, g.N, g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, g.OH, g.OW, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g.CO, depth, 1.f, cols, depth, w, g.CO, 0.f, y, g.CO);
  }
  return info.Env().Undefined();
}

// conv2dBackpropInput(geom, dy [N,OH,OW,CO], w, dx [N,H,W,C])
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  float* dy = F32(info[1]);
  float* dx = F32(info[3]);
  ConvCall cc(info[0], F32(info[2]));
  const ConvGeom& g = cc.r.g;
  const float* w = cc.w;
  const int rows = cc.rows, depth = cc.depth;
  if (pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, depth, g.CO, 1.f, dy, g.CO, w, g.CO, 0.f, dx, depth);
  } else {
    float* cols = scratch(0, (size_t)rows * depth);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, depth, g.CO, 1.f, dy, g.CO, w, g.CO, 0.f, cols, depth);
    col2im(cols, g.N, g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, g.OH, g.OW, dx);
  }
  return info.Env().Undefined();
}

// conv2dBackpropFilter(geom, x, dy, dw [KH,KW,C,CO])
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  float* x = F32(info[1]);
  float* dy = F32(info[2]);
  float* dw = F32(info[3]);
  ConvCall cc(info[0], nullptr);
  const ConvGeom& full = cc.full;
  const Reduced& r = cc.r;
  const ConvGeom& g = r.g;
  const int rows = cc.rows, depth = cc.depth;
  std::vector<float> sub;
  float* out = dw;
  if (!r.full) {
    sub.resize((size_t)depth * g.CO);
    out = sub.data();
  }
  if (pointwise(g)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, depth, g.CO, rows, 1.f, x, depth, dy, g.CO, 0.f, out, g.CO);
  } else {
    float* cols = scratch(0, (size_t)rows * depth);
    im2col(x, g.N, g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, g.OH, g.OW, cols);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, depth, g.CO, rows, 1.f, cols, depth, dy, g.CO, 0.f, out, g.CO);
  }
  if (!r.full) {
    const size_t blk = (size_t)full.C * full.CO;
    std::memset(dw, 0, sizeof(float) * (size_t)full.KH * full.KW * blk);
    for (int a = 0; a < g.KH; a++)
      for (int b = 0; b < g.KW; b++)
        std::memcpy(dw + ((size_t)(r.kh0 + a) * full.KW + (r.kw0 + b)) * blk, out + ((size_t)a * g.KW + b) * blk, sizeof(float) * blk);
  }
  return info.Env().Undefined();
}

enum BinOp { ADD = 0, SUB = 1, MUL = 2, DIV = 3, SQDIFF = 4, MAX = 5, MIN = 6 };

template <int OP>
inline float bop(float a, float b) {
  if (OP == ADD) return a + b;
  if (OP == SUB) return a - b;
  if (OP == MUL) return a * b;
  if (OP == DIV) return a / b;
  if (OP == SQDIFF) return (a - b) * (a - b);
  if (OP == MAX) return a > b ? a : b;
  return a < b ? a : b;
}

// out[outShape] = a[aStrides] op b[bStrides]; strides are 0 on broadcast dims. Dims are already
// collapsed by the caller to rank <= 6.
template <int OP>
void binaryStrided(const float* a, const float* b, float* out, const std::vector<int>& shape, const std::vector<long>& sa,
                   const std::vector<long>& sb) {
  int r = shape.size();
  long n = 1;
  for (int s : shape) n *= s;
  if (r == 0) {
    out[0] = bop<OP>(a[0], b[0]);
    return;
  }
  int inner = shape[r - 1];
  long ia = sa[r - 1], ib = sb[r - 1];
  long outer = n / inner;
  std::vector<int> idx(r, 0);
  long offA = 0, offB = 0;
  for (long o = 0; o < outer; o++) {
    float* dst = out + o * inner;
    const float* pa = a + offA;
    const float* pb = b + offB;
    if (ia == 1 && ib == 1) {
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(pa[i], pb[i]);
    } else if (ia == 1 && ib == 0) {
      float bv = pb[0];
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(pa[i], bv);
    } else if (ia == 0 && ib == 1) {
      float av = pa[0];
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(av, pb[i]);
    } else {
      for (int i = 0; i < inner; i++) dst[i] = bop<OP>(pa[i * ia], pb[i * ib]);
    }
    // advance the outer index (dims 0..r-2)
    for (int d = r - 2; d >= 0; d--) {
      idx[d]++;
      offA += sa[d];
      offB += sb[d];
      if (idx[d] < shape[d]) break;
      offA -= sa[d] * shape[d];
      offB -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// binary(op, a, b, out, shape, stridesA, stridesB)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = I(info[0]);
  float* a = F32(info[1]);
  float* b = F32(info[2]);
  float* out = F32(info[3]);
  auto shape = Ints(info[4]);
  auto sai = Ints(info[5]);
  auto sbi = Ints(info[6]);
  std::vector<long> sa(sai.begin(), sai.end()), sb(sbi.begin(), sbi.end());
  switch (op) {
    case ADD: binaryStrided<ADD>(a, b, out, shape, sa, sb); break;
    case SUB: binaryStrided<SUB>(a, b, out, shape, sa, sb); break;
    case MUL: binaryStrided<MUL>(a, b, out, shape, sa, sb); break;
    case DIV: binaryStrided<DIV>(a, b, out, shape, sa, sb); break;
    case SQDIFF: binaryStrided<SQDIFF>(a, b, out, shape, sa, sb); break;
    case MAX: binaryStrided<MAX>(a, b, out, shape, sa, sb); break;
    default: binaryStrided<MIN>(a, b, out, shape, sa, sb); break;
  }
  return info.Env().Undefined();
}

// reduceSum(x, shape, keepMask(1 = kept dim), out, scale): out = scale * sum over non-kept dims.
// Iterates x in memory order and accumulates into a double buffer indexed by the kept dims.
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  float* x = F32(info[0]);
  auto shape = Ints(info[1]);
  auto keep = Ints(info[2]);
  float* out = F32(info[3]);
  double scale = D(info[4]);
  int r = shape.size();
  if (keep.size() != shape.size()) {
    Napi::RangeError::New(info.Env(), "reduceSum: shape and keep differ in length").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  for (int d = 0; d < r; d++)
    if (shape[d] == 0) {  // an empty tensor: every kept sum is 0 (and there may be none)
      long nOut = 1;
      for (int k = 0; k < r; k++)
        if (keep[k]) nOut *= shape[k];
      for (long i = 0; i < nOut; i++) out[i] = 0.f;
      return info.Env().Undefined();
    }
  // collapse consecutive dims with the same keep flag
  std::vector<long> cs;
  std::vector<int> ck;
  for (int d = 0; d < r; d++) {
    if (!cs.empty() && ck.back() == keep[d]) cs.back() *= shape[d];
    else {
      cs.push_back(shape[d]);
      ck.push_back(keep[d]);
    }
  }
  long nOut = 1;
  for (size_t d = 0; d < cs.size(); d++)
    if (ck[d]) nOut *= cs[d];
  std::vector<double> acc(nOut, 0.0);
  int R = cs.size();
  // out strides
  std::vector<long> os(R, 0);
  long s = 1;
  for (int d = R - 1; d >= 0; d--)
    if (ck[d]) {
      os[d] = s;
      s *= cs[d];
    }
  long inner = R ? cs[R - 1] : 1;
  long total = 1;
  for (long c : cs) total *= c;
  long outer = total / inner;
  std::vector<long> idx(R, 0);
  long off = 0;
  bool innerKept = R && ck[R - 1];
  for (long o = 0; o < outer; o++) {
    const float* src = x + o * inner;
    if (innerKept) {
      double* dst = acc.data() + off;
      for (long i = 0; i < inner; i++) dst[i] += src[i];
    } else {
      double sum = 0;
      for (long i = 0; i < inner; i++) sum += src[i];
      acc[off] += sum;
    }
    for (int d = R - 2; d >= 0; d--) {
      idx[d]++;
      off += os[d];
      if (idx[d] < cs[d]) break;
      off -= os[d] * cs[d];
      idx[d] = 0;
    }
  }
  for (long i = 0; i < nOut; i++) out[i] = (float)(acc[i] * scale);
  return info.Env().Undefined();
}

enum UnOp { TANH = 0, SIGMOID = 1, RELU = 2, EXP = 3, RSQRT = 4, SQRT = 5, SQUARE = 6, ABS = 7, STEP = 8 };

Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op = I(info[0]);
  auto xa = info[1].As<Napi::Float32Array>();
  float* x = xa.Data();
  float* y = F32(info[2]);
  const float alpha = info.Length() > 3 ? info[3].As<Napi::Number>().FloatValue() : 0.f;  // Step's value for x ≤ 0
  long n = xa.ElementLength();
  switch (op) {
    case TANH:
      for (long i = 0; i < n; i++) y[i] = fastTanh(x[i]);
      break;
    case SIGMOID:
      for (long i = 0; i < n; i++) y[i] = 1.f / (1.f + std::exp(-x[i]));
      break;
    case RELU:
      for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
      break;
    case EXP:
      for (long i = 0; i < n; i++) y[i] = std::exp(x[i]);
      break;
    case RSQRT:
      for (long i = 0; i < n; i++) y[i] = 1.f / std::sqrt(x[i]);
      break;
    case SQRT:
      for (long i = 0; i < n; i++) y[i] = std::sqrt(x[i]);
      break;
    case SQUARE:
      for (long i = 0; i < n; i++) y[i] = x[i] * x[i];
      break;
    case STEP:  // tf.step (alpha 0: ReLU's and |x|'s gradients); NaN stays NaN
      for (long i = 0; i < n; i++) y[i] = std::isnan(x[i]) ? x[i] : (x[i] > 0 ? 1.f : alpha);
      break;
    default:
      for (long i = 0; i < n; i++) y[i] = std::fabs(x[i]);
  }
  return info.Env().Undefined();
}


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
static inline void expandGroups(const float* v, int G, int C, float* out) {
  for (int g = 0; g < G; g++)
    for (int c = 0; c < C; c++) out[g * C + c] = v[g];
}

// normalise pre with per-channel mean/rstd, then a = tanh(γ·xhat + β); vectorisable inner loop
static inline void normTanhRow(const float* src, const float* muH, const float* rsH, const float* gamma, const float* beta,
                               float* xh, float* ao, int H) {
  if (xh) {
    for (int h = 0; h < H; h++) {
      float xv = (src[h] - muH[h]) * rsH[h];
      xh[h] = xv;
      ao[h] = fastTanh(gamma[h] * xv + beta[h]);
    }
  } else {
    for (int h = 0; h < H; h++) ao[h] = fastTanh(gamma[h] * ((src[h] - muH[h]) * rsH[h]) + beta[h]);
  }
}

// per-group mean and 1/std from per-channel sums s, s2 over n = pixels·C values, given as `parts`
// partial rows of H (one per thread, or one), combined in double
static void groupMoments(const float* s, const float* s2, int parts, int H, int G, double n, double eps, float* mu, float* rs) {
  const int C = H / G;
  for (int g = 0; g < G; g++) {
    double m = 0, m2 = 0;
    for (int t = 0; t < parts; t++)
      for (int c = 0; c < C; c++) {
        m += s[(size_t)t * H + g * C + c];
        m2 += s2[(size_t)t * H + g * C + c];
      }
    m /= n;
    double var = m2 / n - m * m;
    if (var < 0) var = 0;
    mu[g] = (float)m;
    rs[g] = (float)(1.0 / std::sqrt(var + eps));
  }
}

static void groupNormTanh(const MaskDims& d, float* pre, const float* gamma, const float* beta, float* xhat, float* a,
                          float* rstdOut, const float* meanIn, const float* rstdIn) {
  const int B = d.B, P = d.P, H = d.H, G = d.G, C = H / G;
  if (!d.pixel && B < omp_get_max_threads()) {
    // fewer images than threads (one decomposition, a render): the parallel-over-images loop
    // below would leave all but B threads idle, so sum and normalise over pixel chunks instead
    std::vector<float> muAll((size_t)B * H), rsAll((size_t)B * H);
    for (int b = 0; b < B; b++) {
      const float* src = pre + (size_t)b * P * H;
      float mu[MAX_MASK_GROUPS], rs[MAX_MASK_GROUPS];
      if (meanIn) {
        for (int g = 0; g < G; g++) {
          mu[g] = meanIn[b * G + g];
          rs[g] = rstdIn[b * G + g];
        }
      } else {
        const int nt = omp_get_max_threads();
        std::vector<float> sT((size_t)nt * H, 0.f), s2T((size_t)nt * H, 0.f);
#pragma omp parallel num_threads(nt)
        {
          const int t = omp_get_thread_num();
          float* s = sT.data() + (size_t)t * H;
          float* s2 = s2T.data() + (size_t)t * H;
#pragma omp for schedule(static)
          for (int p = 0; p < d.R; p++) {
            const float* row = src + (size_t)p * H;
            for (int h = 0; h < H; h++) {
              s[h] += row[h];
              s2[h] += row[h] * row[h];
            }
          }
        }
        groupMoments(sT.data(), s2T.data(), nt, H, G, (double)d.R * C, d.eps, mu, rs);
      }
      if (rstdOut)
        for (int g = 0; g < G; g++) rstdOut[b * G + g] = rs[g];
      expandGroups(mu, G, C, muAll.data() + (size_t)b * H);
      expandGroups(rs, G, C, rsAll.data() + (size_t)b * H);
    }
    const long rows = (long)B * P;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
      const size_t b = (size_t)(r / P), o = (size_t)r * H;
      normTanhRow(pre + o, muAll.data() + b * H, rsAll.data() + b * H, gamma, beta, xhat ? xhat + o : nullptr, a + o, H);
    }
  } else if (!d.pixel) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
      const float* src = pre + (size_t)b * P * H;
      float mu[MAX_MASK_GROUPS], rs[MAX_MASK_GROUPS], muH[MAX_MASK_HIDDEN], rsH[MAX_MASK_HIDDEN];
      if (meanIn) {
        for (int g = 0; g < G; g++) {
          mu[g] = meanIn[b * G + g];
          rs[g] = rstdIn[b * G + g];
        }
      } else {
        // per-channel sums over pixels (vectorised), combined per group in double
        std::vector<float> s(H, 0.f), s2(H, 0.f);
        for (int p = 0; p < d.R; p++) {
          const float* row = src + (size_t)p * H;
          for (int h = 0; h < H; h++) {
            s[h] += row[h];
            s2[h] += row[h] * row[h];
          }
        }
        groupMoments(s.data(), s2.data(), 1, H, G, (double)d.R * C, d.eps, mu, rs);
      }
      if (rstdOut)
        for (int g = 0; g < G; g++) rstdOut[b * G + g] = rs[g];
      expandGroups(mu, G, C, muH);
      expandGroups(rs, G, C, rsH);
      for (int p = 0; p < P; p++) {
        size_t o = ((size_t)b * P + p) * H;
        normTanhRow(pre + o, muH, rsH, gamma, beta, xhat ? xhat + o : nullptr, a + o, H);
      }
    }
  } else {
    const long rows = (long)B * P;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
      const float* row = pre + r * H;
      float muH[MAX_MASK_HIDDEN], rsH[MAX_MASK_HIDDEN];
      for (int g = 0; g < G; g++) {
        float m = 0, m2 = 0;
        for (int c = 0; c < C; c++) m += row[g * C + c];
        m /= C;
        for (int c = 0; c < C; c++) {
          float t = row[g * C + c] - m;
          m2 += t * t;
        }
        float rs = 1.f / std::sqrt(m2 / C + (float)d.eps);
        if (rstdOut) rstdOut[r * G + g] = rs;
        for (int c = 0; c < C; c++) {
          muH[g * C + c] = m;
          rsH[g * C + c] = rs;
        }
      }
      normTanhRow(row, muH, rsH, gamma, beta, xhat ? xhat + r * H : nullptr, a + r * H, H);
    }
  }
}

// ---- checked arguments: every size a mask kernel touches is asserted here, before it runs, so
// no caller (and no crafted document or model file) can make it read or write out of bounds.
struct ArgError {
  std::string msg;
};

static bool isF32(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

// dims [B, P, K, H, G, L, pixel] or [B, P, K, H, G, L, pixel, R] and ε. R (≤ P; 0 or absent: P):
// in 'image' mode the per-image statistics are those of the first R pixels (the reference grid)
static MaskDims ParseDims(const Napi::Value& dv, const Napi::Value& ev, ArgError& e) {
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
static float* F32N(const Napi::Value& v, size_t n, const char* what, ArgError& e) {
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
static std::vector<float*> F32ListN(const Napi::Value& v, const std::vector<size_t>& lens, bool optional, const char* what, ArgError& e) {
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
static std::vector<size_t> weightLens(const MaskDims& d) {
  std::vector<size_t> n;
  for (int i = 0; i < d.L; i++) {
    n.push_back((size_t)(i == 0 ? d.K + 2 : d.H) * d.H);
    n.insert(n.end(), {(size_t)d.H, (size_t)d.H, (size_t)d.H});
  }
  n.push_back((size_t)d.H);
  n.push_back(1);
  return n;
}

static Napi::Value argFail(const Napi::Env& env, const char* fn, const ArgError& e) {
  Napi::RangeError::New(env, std::string(fn) + ": " + e.msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

// layer 0: pre[b, q, :] = [x_q, y_q]·W_xy + p_b·W_p + b_0 (cw: [P,H] and pw: [B,H] scratch)
static void firstLayer(const MaskDims& d, const float* coords, const float* p, const std::vector<float*>& w, float* pre, float* cw,
                       float* pw) {
  const int B = d.B, P = d.P, K = d.K, H = d.H;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, H, 2, 1.f, coords, 2, w[0], H, 0.f, cw, H);
  for (int b = 0; b < B; b++) std::memcpy(pw + (size_t)b * H, w[1], sizeof(float) * H);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, K, 1.f, p, K, w[0] + 2 * H, H, 1.f, pw, H);
  const long rows = (long)B * P;  // over rows, not images: one image must use every thread too
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; r++) {
    float* dst = pre + (size_t)r * H;
    const float* c = cw + (size_t)(r % P) * H;
    const float* pb = pw + (size_t)(r / P) * H;
    for (int h = 0; h < H; h++) dst[h] = c[h] + pb[h];
  }
}

// hidden layer i > 0: pre = a_{i-1}·W_i + b_i
static void hiddenLinear(const MaskDims& d, int i, const std::vector<float*>& w, const float* prevA, float* pre) {
  const size_t rows = (size_t)d.B * d.P;
  const int H = d.H;
  for (size_t r = 0; r < rows; r++) std::memcpy(pre + r * H, w[4 * i + 1], sizeof(float) * H);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, H, H, 1.f, prevA, H, w[4 * i], H, 1.f, pre, H);
}

// the mask MLP's forward on checked arguments (maskForward, and decomposeForward's every step)
static void maskForwardCore(const MaskDims& d, const float* coords, const float* p, const std::vector<float*>& w, float* masks,
                            const std::vector<float*>& xhat, const std::vector<float*>& act, const std::vector<float*>& rstd,
                            const std::vector<float*>& sMean, const std::vector<float*>& sRstd) {
  const int B = d.B, P = d.P, H = d.H, L = d.L;
  const size_t n = (size_t)B * P * H;
  float* pre = scratch(0, n);
  firstLayer(d, coords, p, w, pre, scratch(1, (size_t)P * H), scratch(2, (size_t)B * H));
  const float* prevA = nullptr;
  for (int i = 0; i < L; i++) {
    if (i > 0) hiddenLinear(d, i, w, prevA, pre);
    float* aOut = act.size() > (size_t)i && act[i] ? act[i] : nullptr;
    if (!aOut) aOut = scratch(3 + (i % 2), n);  // inference: ping-pong scratch buffers
    groupNormTanh(d, pre, w[4 * i + 2], w[4 * i + 3], xhat.size() > (size_t)i ? xhat[i] : nullptr, aOut,
                  rstd.size() > (size_t)i ? rstd[i] : nullptr, sMean.size() > (size_t)i ? sMean[i] : nullptr,
                  sRstd.size() > (size_t)i ? sRstd[i] : nullptr);
    prevA = aOut;
  }
  const float* wo = w[4 * L];
  const float bo = w[4 * L + 1][0];
  cblas_sgemv(CblasRowMajor, CblasNoTrans, B * P, H, 1.f, prevA, H, wo, 1, 0.f, masks, 1);
  for (size_t r = 0; r < (size_t)B * P; r++) masks[r] = 1.f / (1.f + std::exp(-(masks[r] + bo)));
}

// maskForward(dims, eps, coords, p, weights[4L+2], masks, xhat[L] | [], act[L] | [], rstd[L] | [],
//             statsMean[L] | [], statsRstd[L] | [])
// weights: w0 [(K+2),H], b0, gamma0, beta0, w1 [H,H], b1, gamma1, beta1, ..., wo [H], bo [1]
Napi::Value MaskForward(const Napi::CallbackInfo& info) {
  ArgError e;
  MaskDims d = ParseDims(info[0], info[1], e);
  if (!e.msg.empty()) return argFail(info.Env(), "maskForward", e);
  const size_t BP = (size_t)d.B * d.P, BPH = BP * d.H, BG = (size_t)d.B * d.G;
  const std::vector<size_t> perLayer(d.L, BPH), rstdLens(d.L, (d.pixel ? BP : (size_t)d.B) * d.G), statLens(d.L, BG);
  const float* coords = F32N(info[2], (size_t)d.P * 2, "coords", e);
  const float* p = F32N(info[3], (size_t)d.B * d.K, "p", e);
  auto w = F32ListN(info[4], weightLens(d), false, "weights", e);
  float* masks = F32N(info[5], BP, "masks", e);
  auto xhat = F32ListN(info[6], perLayer, true, "xhat", e);
  auto act = F32ListN(info[7], perLayer, true, "act", e);
  auto rstd = F32ListN(info[8], rstdLens, true, "rstd", e);
  auto sMean = F32ListN(info[9], statLens, true, "statsMean", e);
  auto sRstd = F32ListN(info[10], statLens, true, "statsRstd", e);
  if (e.msg.empty() && sMean.size() != sRstd.size()) e.msg = "statsMean and statsRstd must both be given or both empty";
  if (e.msg.empty() && !sMean.empty() && d.pixel) e.msg = "given statistics need per-image GroupNorm";
  if (!e.msg.empty()) return argFail(info.Env(), "maskForward", e);
  maskForwardCore(d, coords, p, w, masks, xhat, act, rstd, sMean, sRstd);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- one image's decomposition (inference)
// The decomposer's forward (src/model/decomposer.ts with the small encoder of
// src/model/smallEncoder.ts and inference BatchNorm) for ONE image, all T steps in one call:
//   h_0 = relu(a_0t ⊙ (W_target * target + W_canvas * canvas) + b_0t)    3×3 stride-2 convolutions,
//   h_i = relu(a_it ⊙ (W_i * h_{i−1}) + b_it)                               BatchNorm folded per step t
//   f = mean_xy h_last (or h_last flattened),  p_t = f·W_p + b_p,  c_t = σ(f·W_c + b_c)   into a scale a and shift b
//   M_t = f(x, y, p_t) (the mask MLP above),  canvas = canvas·(1 − M_t) + c_t·M_t
// Same math as the tfjs definition, which for one image is ~35 small tfjs ops per step whose
// dispatch cost a third of a 32² decomposition (test/native.test.ts holds the two equal).
// decomposeForward(dims [S, T, K, n, C_0..C_{n−1}], maskDims [1, S·S, K, H, G, L, pixel], eps, target [S·S·3],
//   convW[n] ([3,3,6,C_0], [3,3,C_{i−1},C_i]), scale [T·ΣC], shift [T·ΣC], headP [C_{n−1}·K], headPb [K],
//   headC [C_{n−1}·3], headCb [3], coords [S·S·2], maskW[4L+2], outP [T·K], outC [T·3], outMasks [T·S·S],
//   outCanvas [S·S·3], flatten (optional boolean: the heads read the last map flattened, h·w·C_{n−1}
//   rows in NHWC order, instead of its mean)
constexpr int MAX_DEC_SIZE = 4096, MAX_DEC_STEPS = 4096, MAX_DEC_CONVS = 16, MAX_DEC_CHANNELS = 4096;

// 3×3, stride 2, padding 1 convolution of one NHWC image [H,W,C] with w [9·C, CO] (rows (kh·3+kw)·C + c)
static void conv3s2(const float* x, int H, int W, int C, const float* w, int CO, float* y, std::vector<float>& cols) {
  const int OH = (H - 1) / 2 + 1, OW = (W - 1) / 2 + 1;
  cols.resize((size_t)OH * OW * 9 * C);
  im2col(x, 1, H, W, C, 3, 3, 2, 2, 1, 1, 1, 1, OH, OW, cols.data());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OH * OW, CO, 9 * C, 1.f, cols.data(), 9 * C, w, CO, 0.f, y, CO);
}

Napi::Value DecomposeForward(const Napi::CallbackInfo& info) {
  ArgError e;
  const Napi::Env env = info.Env();
  auto fail = [&](const std::string& m) {
    e.msg = m;
    return argFail(env, "decomposeForward", e);
  };
  if (!info[0].IsArray()) return fail("dims must be [S, T, K, n, C_0, ...]");
  auto da = info[0].As<Napi::Array>();
  std::vector<int> dv;
  for (uint32_t i = 0; i < da.Length() && i < 4 + MAX_DEC_CONVS; i++) {
    Napi::Value v = da.Get(i);
    double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(x >= 1 && x <= 1e6 && x == std::floor(x))) return fail("dims must be positive integers");
    dv.push_back((int)x);
  }
  if (dv.size() < 5) return fail("dims must be [S, T, K, n, C_0, ...]");
  const int S = dv[0], T = dv[1], K = dv[2], nConv = dv[3];
  if (S > MAX_DEC_SIZE || T > MAX_DEC_STEPS || K > MAX_MASK_K) return fail("S, T or K out of range");
  if (nConv > MAX_DEC_CONVS || da.Length() != (uint32_t)(4 + nConv)) return fail("dims must list n channel counts");
  std::vector<int> ch(dv.begin() + 4, dv.end());
  int sumC = 0;
  for (int c : ch) {
    if (c > MAX_DEC_CHANNELS) return fail("channel count out of range");
    sumC += c;
  }
  MaskDims d = ParseDims(info[1], info[2], e);
  if (!e.msg.empty()) return argFail(env, "decomposeForward", e);
  if (d.B != 1 || d.P != S * S || d.K != K) return fail("mask dims must be [1, S·S, K, H, G, L, pixel]");
  if (info.Length() > 17 && !info[17].IsBoolean() && !info[17].IsUndefined()) return fail("flatten must be a boolean");
  const bool flatten = info.Length() > 17 && info[17].IsBoolean() && info[17].As<Napi::Boolean>().Value();
  std::vector<int> hs(nConv + 1), ws(nConv + 1);
  hs[0] = ws[0] = S;
  for (int i = 0; i < nConv; i++) {
    hs[i + 1] = (hs[i] - 1) / 2 + 1;
    ws[i + 1] = (ws[i] - 1) / 2 + 1;
  }
  const int CL = ch[nConv - 1], lastRows = hs[nConv] * ws[nConv];
  const int P = S * S, F = flatten ? CL * lastRows : CL;
  const float* target = F32N(info[3], (size_t)P * 3, "target", e);
  std::vector<size_t> convLens;
  for (int i = 0; i < nConv; i++) convLens.push_back((size_t)9 * (i == 0 ? 6 : ch[i - 1]) * ch[i]);
  auto convW = F32ListN(info[4], convLens, false, "conv weights", e);
  const float* scale = F32N(info[5], (size_t)T * sumC, "scale", e);
  const float* shift = F32N(info[6], (size_t)T * sumC, "shift", e);
  const float* wp = F32N(info[7], (size_t)F * K, "head p weight", e);
  const float* bp = F32N(info[8], (size_t)K, "head p bias", e);
  const float* wc = F32N(info[9], (size_t)F * 3, "head c weight", e);
  const float* bc = F32N(info[10], 3, "head c bias", e);
  const float* coords = F32N(info[11], (size_t)P * 2, "coords", e);
  auto mw = F32ListN(info[12], weightLens(d), false, "mask weights", e);
  float* outP = F32N(info[13], (size_t)T * K, "outP", e);
  float* outC = F32N(info[14], (size_t)T * 3, "outC", e);
  float* outM = F32N(info[15], (size_t)T * P, "outMasks", e);
  float* canvas = F32N(info[16], (size_t)P * 3, "outCanvas", e);
  if (!e.msg.empty()) return argFail(env, "decomposeForward", e);

  // the stem's weight split by input channel: target (0..2) and canvas (3..5) halves, [27, C_0] each
  const int C0 = ch[0];
  std::vector<float> wT((size_t)27 * C0), wCv((size_t)27 * C0);
  for (int k = 0; k < 9; k++)
    for (int c = 0; c < 3; c++) {
      std::memcpy(wT.data() + ((size_t)k * 3 + c) * C0, convW[0] + ((size_t)k * 6 + c) * C0, sizeof(float) * C0);
      std::memcpy(wCv.data() + ((size_t)k * 3 + c) * C0, convW[0] + ((size_t)k * 6 + 3 + c) * C0, sizeof(float) * C0);
    }
  std::vector<float> cols, stemT((size_t)hs[1] * ws[1] * C0), feat(F), pv(K);
  std::vector<std::vector<float>> h(nConv);
  for (int i = 0; i < nConv; i++) h[i].resize((size_t)hs[i + 1] * ws[i + 1] * ch[i]);
  conv3s2(target, S, S, 3, wT.data(), C0, stemT.data(), cols);
  std::fill(canvas, canvas + (size_t)P * 3, 0.f);
  const std::vector<float*> none;
  for (int t = 0; t < T; t++) {
    const float* sc = scale + (size_t)t * sumC;
    const float* sh = shift + (size_t)t * sumC;
    int off = 0;
    for (int i = 0; i < nConv; i++) {
      const int CO = ch[i];
      float* y = h[i].data();
      const size_t rows = (size_t)hs[i + 1] * ws[i + 1];
      if (i == 0) {
        conv3s2(canvas, S, S, 3, wCv.data(), CO, y, cols);
        for (size_t r = 0; r < rows * CO; r++) y[r] += stemT[r];
      } else {
        conv3s2(h[i - 1].data(), hs[i], ws[i], ch[i - 1], convW[i], CO, y, cols);
      }
      for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < CO; c++) {
          const float v = y[r * CO + c] * sc[off + c] + sh[off + c];
          y[r * CO + c] = v > 0.f ? v : 0.f;
        }
      off += CO;
    }
    if (flatten) {
      std::copy(h[nConv - 1].begin(), h[nConv - 1].end(), feat.begin());
    } else {
      std::fill(feat.begin(), feat.end(), 0.f);
      for (int r = 0; r < lastRows; r++)
        for (int c = 0; c < CL; c++) feat[c] += h[nConv - 1][(size_t)r * CL + c];
      for (int c = 0; c < CL; c++) feat[c] /= (float)lastRows;
    }
    float* p = outP + (size_t)t * K;
    for (int k = 0; k < K; k++) {
      float a = bp[k];
      for (int c = 0; c < F; c++) a += feat[c] * wp[(size_t)c * K + k];
      p[k] = a;
    }
    float* col = outC + (size_t)t * 3;
    for (int k = 0; k < 3; k++) {
      float a = bc[k];
      for (int c = 0; c < F; c++) a += feat[c] * wc[(size_t)c * 3 + k];
      col[k] = 1.f / (1.f + std::exp(-a));
    }
    float* m = outM + (size_t)t * P;
    maskForwardCore(d, coords, p, mw, m, none, none, none, none, none);
    for (int q = 0; q < P; q++) {
      const float mq = m[q];
      for (int k = 0; k < 3; k++) canvas[(size_t)q * 3 + k] = canvas[(size_t)q * 3 + k] * (1.f - mq) + col[k] * mq;
    }
  }
  return env.Undefined();
}

// maskStats(dims, eps, coords, p, weights, meanOut[L], rstdOut[L]): per-image GroupNorm statistics of
// every hidden layer on these pixels (the reference grid), for tiled rendering.
Napi::Value MaskStats(const Napi::CallbackInfo& info) {
  ArgError e;
  MaskDims d = ParseDims(info[0], info[1], e);
  if (!e.msg.empty()) return argFail(info.Env(), "maskStats", e);
  const std::vector<size_t> statLens(d.L, (size_t)d.B * d.G);
  const float* coords = F32N(info[2], (size_t)d.P * 2, "coords", e);
  const float* p = F32N(info[3], (size_t)d.B * d.K, "p", e);
  auto w = F32ListN(info[4], weightLens(d), false, "weights", e);
  auto meanOut = F32ListN(info[5], statLens, false, "meanOut", e);
  auto rstdOut = F32ListN(info[6], statLens, false, "rstdOut", e);
  if (!e.msg.empty()) return argFail(info.Env(), "maskStats", e);
  const int B = d.B, P = d.P, K = d.K, H = d.H, L = d.L, G = d.G, C = H / G;
  const size_t n = (size_t)B * P * H;
  std::vector<float> pre(n), a(n), cw((size_t)P * H), pw((size_t)B * H);
  firstLayer(d, coords, p, w, pre.data(), cw.data(), pw.data());
  for (int i = 0; i < L; i++) {
    if (i > 0) hiddenLinear(d, i, w, a.data(), pre.data());
    for (int b = 0; b < B; b++)
      for (int g = 0; g < G; g++) {
        double s = 0, s2 = 0;
        for (int q = 0; q < P; q++)
          for (int c = 0; c < C; c++) {
            double v = pre[((size_t)b * P + q) * H + g * C + c];
            s += v;
            s2 += v * v;
          }
        double m = s / ((double)P * C), var = s2 / ((double)P * C) - m * m;
        meanOut[i][b * G + g] = (float)m;
        rstdOut[i][b * G + g] = (float)(1.0 / std::sqrt((var < 0 ? 0 : var) + d.eps));
      }
    groupNormTanh(d, pre.data(), w[4 * i + 2], w[4 * i + 3], nullptr, a.data(), nullptr, meanOut[i], rstdOut[i]);
  }
  return info.Env().Undefined();
}

// out[h] = Σ_r x[r, h], blocked float partial sums combined in double
static void columnSums(const float* x, size_t rows, int H, float* out) {
  std::vector<double> tot(H, 0.0);
  std::vector<float> acc(H, 0.f);
  for (size_t r0 = 0; r0 < rows; r0 += 256) {
    size_t r1 = r0 + 256 < rows ? r0 + 256 : rows;
    std::fill(acc.begin(), acc.end(), 0.f);
    for (size_t r = r0; r < r1; r++)
      for (int h = 0; h < H; h++) acc[h] += x[r * H + h];
    for (int h = 0; h < H; h++) tot[h] += acc[h];
  }
  for (int h = 0; h < H; h++) out[h] = (float)tot[h];
}

// maskBackward(dims, eps, coords, p, weights, masks, xhat[L], act[L], rstd[L], dmasks, grads[4L+2], dp)
Napi::Value MaskBackward(const Napi::CallbackInfo& info) {
  ArgError e;
  MaskDims d = ParseDims(info[0], info[1], e);
  if (!e.msg.empty()) return argFail(info.Env(), "maskBackward", e);
  const size_t BP = (size_t)d.B * d.P, BPH = BP * d.H;
  const std::vector<size_t> perLayer(d.L, BPH), rstdLens(d.L, (d.pixel ? BP : (size_t)d.B) * d.G);
  const float* coords = F32N(info[2], (size_t)d.P * 2, "coords", e);
  const float* p = F32N(info[3], (size_t)d.B * d.K, "p", e);
  auto w = F32ListN(info[4], weightLens(d), false, "weights", e);
  const float* masks = F32N(info[5], BP, "masks", e);
  auto xhat = F32ListN(info[6], perLayer, false, "xhat", e);
  auto act = F32ListN(info[7], perLayer, false, "act", e);
  auto rstd = F32ListN(info[8], rstdLens, false, "rstd", e);
  const float* dm = F32N(info[9], BP, "dmasks", e);
  auto gr = F32ListN(info[10], weightLens(d), false, "grads", e);
  float* dp = F32N(info[11], (size_t)d.B * d.K, "dp", e);
  if (!e.msg.empty()) return argFail(info.Env(), "maskBackward", e);
  const int B = d.B, P = d.P, K = d.K, H = d.H, L = d.L, G = d.G, C = H / G;
  const size_t rows = (size_t)B * P, n = rows * H;
  float* dlp = scratch(5, rows);
  float* dap = scratch(6, n);
  float* dhp = scratch(7, n);
  struct View {
    float* p;
    float& operator[](size_t i) { return p[i]; }
    float* data() { return p; }
  } dl{dlp}, da{dap}, dh{dhp};
  std::vector<float> layer0S, layer0R;  // layer 0: Σ_b dh per pixel (per thread in image mode), Σ_q dh per image
  for (size_t r = 0; r < rows; r++) dl[r] = dm[r] * masks[r] * (1.f - masks[r]);
  // output layer
  const float* aLast = act[L - 1];
  cblas_sgemv(CblasRowMajor, CblasTrans, rows, H, 1.f, aLast, H, dl.data(), 1, 0.f, gr[4 * L], 1);
  double sbo = 0;
  for (size_t r = 0; r < rows; r++) sbo += dl[r];
  gr[4 * L + 1][0] = (float)sbo;
  const float* wo = w[4 * L];
#pragma omp parallel for schedule(static)
  for (long r = 0; r < (long)rows; r++)
    for (int h = 0; h < H; h++) da[(size_t)r * H + h] = dl[r] * wo[h];
  for (int i = L - 1; i >= 0; i--) {
    const float* a = act[i];
    const float* xh = xhat[i];
    const float* gamma = w[4 * i + 2];
    float* dgamma = gr[4 * i + 2];
    float* dbeta = gr[4 * i + 3];
    // dz = da·(1 − a²); dγ = Σ dz·xhat; dβ = Σ dz; dxhat = dz·γ (in place in da);
    // dh = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)) over each group
    if (!d.pixel) {
      // per-image statistics: one image at a time, all three passes while its rows (2 × 512 KB
      // at 32², H = 128) are in cache; layer 0 also sums dh per pixel (S) and per image (R0)
      const int nt = omp_get_max_threads();
      std::vector<float> dgT((size_t)nt * H, 0.f), dbT((size_t)nt * H, 0.f);
      if (i == 0) {
        layer0S.assign((size_t)nt * P * H, 0.f);
        layer0R.assign((size_t)B * H, 0.f);
      }
#pragma omp parallel num_threads(nt)
      {
        const int t = omp_get_thread_num();
        float* dgl = dgT.data() + (size_t)t * H;
        float* dbl = dbT.data() + (size_t)t * H;
        float* St = i == 0 ? layer0S.data() + (size_t)t * P * H : nullptr;
        std::vector<float> accG(H), accB(H), c1(H), c2(H);
        float m1[MAX_MASK_GROUPS], m2[MAX_MASK_GROUPS], rs[MAX_MASK_GROUPS], m1H[MAX_MASK_HIDDEN], m2H[MAX_MASK_HIDDEN], rsH[MAX_MASK_HIDDEN];
#pragma omp for schedule(static)
        for (int b = 0; b < B; b++) {
          std::fill(accG.begin(), accG.end(), 0.f);
          std::fill(accB.begin(), accB.end(), 0.f);
          std::fill(c1.begin(), c1.end(), 0.f);
          std::fill(c2.begin(), c2.end(), 0.f);
          for (int q = 0; q < P; q++) {
            const size_t o = ((size_t)b * P + q) * H;
            for (int h = 0; h < H; h++) {
              const float x = xh[o + h];
              const float dz = da[o + h] * (1.f - a[o + h] * a[o + h]);
              accG[h] += dz * x;
              accB[h] += dz;
              const float dx = dz * gamma[h];
              da[o + h] = dx;
              c1[h] += dx;
              c2[h] += dx * x;
            }
            if ((q & 255) == 255 || q == P - 1) {  // flush to limit float drift
              for (int h = 0; h < H; h++) {
                dgl[h] += accG[h];
                dbl[h] += accB[h];
                accG[h] = accB[h] = 0.f;
              }
            }
          }
          for (int g = 0; g < G; g++) {
            double a1 = 0, a2 = 0;
            for (int c = 0; c < C; c++) {
              a1 += c1[g * C + c];
              a2 += c2[g * C + c];
            }
            m1[g] = (float)(a1 / ((double)d.R * C));
            m2[g] = (float)(a2 / ((double)d.R * C));
            rs[g] = rstd[i][b * G + g];
          }
          expandGroups(m1, G, C, m1H);
          expandGroups(m2, G, C, m2H);
          expandGroups(rs, G, C, rsH);
          float* Rb = i == 0 ? layer0R.data() + (size_t)b * H : nullptr;
          for (int q = 0; q < P; q++) {
            const size_t o = ((size_t)b * P + q) * H;
            if (q < d.R) {  // pixels that make the statistics
              for (int h = 0; h < H; h++) dh[o + h] = rsH[h] * (da[o + h] - m1H[h] - xh[o + h] * m2H[h]);
            } else {
              for (int h = 0; h < H; h++) dh[o + h] = rsH[h] * da[o + h];
            }
            if (i == 0) {
              float* sq = St + (size_t)q * H;
              for (int h = 0; h < H; h++) {
                sq[h] += dh[o + h];
                Rb[h] += dh[o + h];
              }
            }
          }
        }
      }
      for (int h = 0; h < H; h++) {
        float g = 0.f, bb = 0.f;
        for (int t = 0; t < nt; t++) {
          g += dgT[(size_t)t * H + h];
          bb += dbT[(size_t)t * H + h];
        }
        dgamma[h] = g;
        dbeta[h] = bb;
      }
      if (i == 0)
        for (int t = 1; t < nt; t++)
          for (size_t k = 0; k < (size_t)P * H; k++) layer0S[k] += layer0S[(size_t)t * P * H + k];
    } else {
      const int nt = 2;
      std::vector<float> dgT((size_t)nt * H, 0.f), dbT((size_t)nt * H, 0.f);
#pragma omp parallel for schedule(static) num_threads(nt)
      for (int t = 0; t < nt; t++) {
        float* dgl = dgT.data() + (size_t)t * H;
        float* dbl = dbT.data() + (size_t)t * H;
        size_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
        std::vector<float> accG(H, 0.f), accB(H, 0.f);
        for (size_t r = r0; r < r1; r++) {
          const size_t o = r * H;
          for (int h = 0; h < H; h++) {
            float dz = da[o + h] * (1.f - a[o + h] * a[o + h]);
            accG[h] += dz * xh[o + h];
            accB[h] += dz;
            da[o + h] = dz * gamma[h];
          }
          if (((r - r0) & 255) == 255) {  // flush to limit float drift
            for (int h = 0; h < H; h++) {
              dgl[h] += accG[h];
              dbl[h] += accB[h];
              accG[h] = accB[h] = 0.f;
            }
          }
        }
        for (int h = 0; h < H; h++) {
          dgl[h] += accG[h];
          dbl[h] += accB[h];
        }
      }
      for (int h = 0; h < H; h++) {
        dgamma[h] = dgT[h] + dgT[H + h];
        dbeta[h] = dbT[h] + dbT[H + h];
      }
#pragma omp parallel for schedule(static)
      for (long r = 0; r < (long)rows; r++) {
        const size_t o = (size_t)r * H;
        for (int g = 0; g < G; g++) {
          float s1 = 0, s2 = 0;
          for (int c = 0; c < C; c++) {
            s1 += da[o + g * C + c];
            s2 += da[o + g * C + c] * xh[o + g * C + c];
          }
          s1 /= C;
          s2 /= C;
          float rs = rstd[i][(size_t)r * G + g];
          for (int c = 0; c < C; c++) {
            int h = g * C + c;
            dh[o + h] = rs * (da[o + h] - s1 - xh[o + h] * s2);
          }
        }
      }
    }
    if (i > 0) {
      // dW_i = a_{i-1}ᵀ·dh, db_i = Σ dh, da_{i-1} = dh·W_iᵀ
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, rows, 1.f, act[i - 1], H, dh.data(), H, 0.f, gr[4 * i], H);
      columnSums(dh.data(), rows, H, gr[4 * i + 1]);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, H, H, 1.f, dh.data(), H, w[4 * i], H, 0.f, da.data(), H);
    } else {
      // layer 0: pre = coords·W_xy + p·W_p + b0
      if (d.pixel) {  // image mode summed these in its fused loop above
        layer0S.assign((size_t)P * H, 0.f);
        layer0R.assign((size_t)B * H, 0.f);
        for (int b = 0; b < B; b++)
          for (int q = 0; q < P; q++) {
            const float* src = dh.data() + ((size_t)b * P + q) * H;
            float* s = layer0S.data() + (size_t)q * H;
            float* rr = layer0R.data() + (size_t)b * H;
            for (int h = 0; h < H; h++) {
              s[h] += src[h];
              rr[h] += src[h];
            }
          }
      }
      const float* S = layer0S.data();  // Σ_b dh per pixel (the first P·H entries hold the total)
      const float* R = layer0R.data();  // Σ_q dh per image
      float* dw0 = gr[0];
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 2, H, P, 1.f, coords, 2, S, H, 0.f, dw0, H);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, H, B, 1.f, p, K, R, H, 0.f, dw0 + 2 * H, H);
      for (int h = 0; h < H; h++) {
        double s = 0;
        for (int b = 0; b < B; b++) s += R[(size_t)b * H + h];
        gr[1][h] = (float)s;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, H, 1.f, R, H, w[0] + 2 * H, H, 0.f, dp, K);
    }
  }
  return info.Env().Undefined();
}

// maxTanhError(): largest |fastTanh − tanh| over a fine grid (checked by the tests)
Napi::Value MaxTanhError(const Napi::CallbackInfo& info) {
  double worst = 0;
  for (int i = -200000; i <= 200000; i++) {
    float x = i * 1e-4f;
    double e = std::fabs((double)fastTanh(x) - std::tanh((double)x));
    if (e > worst) worst = e;
  }
  return Napi::Number::New(info.Env(), worst);
}

// ---------------------------------------------------------------- BatchNorm with batch statistics (NHWC rows × C)
// per-channel Σx and Σx² over rows, blocked float partial sums combined in double
static void channelMoments(const float* x, size_t rows, int C, double* s1, double* s2) {
  std::vector<float> a(C), b(C);
  for (int c = 0; c < C; c++) s1[c] = s2[c] = 0;
  for (size_t r0 = 0; r0 < rows; r0 += 64) {
    size_t r1 = r0 + 64 < rows ? r0 + 64 : rows;
    std::fill(a.begin(), a.end(), 0.f);
    std::fill(b.begin(), b.end(), 0.f);
    for (size_t r = r0; r < r1; r++) {
      const float* row = x + r * C;
      for (int c = 0; c < C; c++) {
        a[c] += row[c];
        b[c] += row[c] * row[c];
      }
    }
    for (int c = 0; c < C; c++) {
      s1[c] += a[c];
      s2[c] += b[c];
    }
  }
}

// bnForward(x, rows, C, gamma, beta, eps, y, mean, variance)
Napi::Value BnForward(const Napi::CallbackInfo& info) {
  const float* x = F32(info[0]);
  size_t rows = (size_t)D(info[1]);
  int C = I(info[2]);
  const float* gamma = F32(info[3]);
  const float* beta = F32(info[4]);
  double eps = D(info[5]);
  float* y = F32(info[6]);
  float* mean = F32(info[7]);
  float* var = F32(info[8]);
  std::vector<double> s1(C), s2(C);
  channelMoments(x, rows, C, s1.data(), s2.data());
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; c++) {
    double m = s1[c] / rows, v = s2[c] / rows - m * m;
    if (v < 0) v = 0;
    mean[c] = (float)m;
    var[c] = (float)v;
    double rs = 1.0 / std::sqrt(v + eps);
    scale[c] = (float)(gamma[c] * rs);
    shift[c] = (float)(beta[c] - m * gamma[c] * rs);
  }
#pragma omp parallel for schedule(static) if (rows * C > 65536)
  for (long r = 0; r < (long)rows; r++) {
    const float* row = x + (size_t)r * C;
    float* out = y + (size_t)r * C;
    for (int c = 0; c < C; c++) out[c] = row[c] * scale[c] + shift[c];
  }
  return info.Env().Undefined();
}

// bnBackward(x, dy, rows, C, gamma, mean, variance, eps, dx, dgamma, dbeta)
Napi::Value BnBackward(const Napi::CallbackInfo& info) {
  const float* x = F32(info[0]);
  const float* dy = F32(info[1]);
  size_t rows = (size_t)D(info[2]);
  int C = I(info[3]);
  const float* gamma = F32(info[4]);
  const float* mean = F32(info[5]);
  const float* var = F32(info[6]);
  double eps = D(info[7]);
  float* dx = F32(info[8]);
  float* dgamma = F32(info[9]);
  float* dbeta = F32(info[10]);
  std::vector<float> rs(C), a(C), b(C);
  std::vector<double> sdy(C, 0.0), sdyx(C, 0.0);
  for (int c = 0; c < C; c++) rs[c] = (float)(1.0 / std::sqrt((double)var[c] + eps));
  // Σ dy and Σ dy·xhat per channel
  for (size_t r0 = 0; r0 < rows; r0 += 64) {
    size_t r1 = r0 + 64 < rows ? r0 + 64 : rows;
    std::fill(a.begin(), a.end(), 0.f);
    std::fill(b.begin(), b.end(), 0.f);
    for (size_t r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      const float* gr = dy + r * C;
      for (int c = 0; c < C; c++) {
        a[c] += gr[c];
        b[c] += gr[c] * (xr[c] - mean[c]) * rs[c];
      }
    }
    for (int c = 0; c < C; c++) {
      sdy[c] += a[c];
      sdyx[c] += b[c];
    }
  }
  std::vector<float> k1(C), k2(C), k3(C);
  for (int c = 0; c < C; c++) {
    dgamma[c] = (float)sdyx[c];
    dbeta[c] = (float)sdy[c];
    // dx = γ·rstd·(dy − mean(dy) − xhat·mean(dy·xhat))
    k1[c] = gamma[c] * rs[c];
    k2[c] = (float)(sdy[c] / rows);
    k3[c] = (float)(sdyx[c] / rows);
  }
#pragma omp parallel for schedule(static) if (rows * C > 65536)
  for (long r = 0; r < (long)rows; r++) {
    const float* xr = x + (size_t)r * C;
    const float* gr = dy + (size_t)r * C;
    float* out = dx + (size_t)r * C;
    for (int c = 0; c < C; c++) out[c] = k1[c] * (gr[c] - k2[c] - (xr[c] - mean[c]) * rs[c] * k3[c]);
  }
  return info.Env().Undefined();
}

// maxPoolGrad(geom [N,H,W,C,KH,KW,SH,SW,PT,PL,OH,OW], x, dy, dx): dy goes to the first max of each window
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  auto g = Ints(info[0]);
  int N = g[0], H = g[1], W = g[2], C = g[3], KH = g[4], KW = g[5], SH = g[6], SW = g[7], PT = g[8], PL = g[9], OH = g[10],
      OW = g[11];
  const float* x = F32(info[1]);
  const float* dy = F32(info[2]);
  float* dx = F32(info[3]);
  std::memset(dx, 0, sizeof(float) * (size_t)N * H * W * C);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++)
        for (int c = 0; c < C; c++) {
          float best = -INFINITY;
          long arg = -1;
          for (int kh = 0; kh < KH; kh++) {
            int ih = oh * SH - PT + kh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; kw++) {
              int iw = ow * SW - PL + kw;
              if (iw < 0 || iw >= W) continue;
              long idx = (((long)n * H + ih) * W + iw) * C + c;
              if (x[idx] > best || arg < 0) {
                best = x[idx];
                arg = idx;
              }
            }
          }
          if (arg >= 0) dx[arg] += dy[(((long)n * OH + oh) * OW + ow) * C + c];
        }
  return info.Env().Undefined();
}

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


// ------------------------------------------------------------------ shape swaps
// src/model/shapes.ts swapShapes, the same loop in one call (its definition stays the reference:
// test/shapes.test.ts holds the two equal). Arithmetic follows the definition's: sums and colours
// in double, the arrays the definition keeps as Float32Array rounded to float where it stores them.
namespace shapeswaps {

// min ‖W C − y‖² over C in [0, 1]^{n×3} from A [n×n], B [n×3] (src/core/solve.ts boxLeastSquares)
void boxLeastSquares(const std::vector<double>& A, const std::vector<double>& B, int n, double ridge, const std::vector<double>& start, std::vector<double>& C) {
  const int m = 3;
  std::vector<double> Ar(A), L(n * n, 0.0), X(n * m, 0.0), y(n);
  for (int a = 0; a < n; a++) Ar[a * n + a] += ridge;
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) {
      double s = Ar[i * n + j];
      for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i == j) L[i * n + i] = std::sqrt(std::max(s, 1e-300));
      else L[i * n + j] = s / L[j * n + j];
    }
  for (int c = 0; c < m; c++) {
    for (int i = 0; i < n; i++) {
      double s = B[i * m + c];
      for (int k = 0; k < i; k++) s -= L[i * n + k] * y[k];
      y[i] = s / L[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
      double s = y[i];
      for (int k = i + 1; k < n; k++) s -= L[k * n + i] * X[k * m + c];
      X[i * m + c] = s / L[i * n + i];
    }
  }
  C.assign(n * m, 0.0);
  for (int t = 0; t < n; t++) {
    const bool empty = A[t * n + t] <= ridge;
    for (int k = 0; k < m; k++) C[t * m + k] = empty ? start[t * m + k] : std::min(1.0, std::max(0.0, X[t * m + k]));
  }
  for (int sweep = 0; sweep < 50; sweep++) {
    double moved = 0;
    for (int t = 0; t < n; t++) {
      const double d = A[t * n + t];
      if (d <= ridge) continue;
      for (int k = 0; k < m; k++) {
        double r = B[t * m + k];
        for (int s2 = 0; s2 < n; s2++) r -= A[t * n + s2] * C[s2 * m + k];
        const double next = std::min(1.0, std::max(0.0, C[t * m + k] + r / d));
        moved = std::max(moved, std::fabs(next - C[t * m + k]));
        C[t * m + k] = next;
      }
    }
    if (moved < 1e-9) break;
  }
}

// least-squares colours of a stack (src/model/refine.ts layerWeights + leastSquaresFit); returns the mse
// w_t = M_t · Π_{s>t} (1 − M_s), [T·P] (src/model/refine.ts layerWeights)
std::vector<float> layerWeights(const std::vector<const float*>& masks, int P) {
  const int T = (int)masks.size();
  std::vector<float> w((size_t)T * P), keep(P, 1.f);
  for (int t = T - 1; t >= 0; t--) {
    const float* m = masks[t];
    float* wt = &w[(size_t)t * P];
    for (int i = 0; i < P; i++) {
      wt[i] = (float)((double)m[i] * keep[i]);
      keep[i] = (float)((double)keep[i] * (1.0 - (double)m[i]));
    }
  }
  return w;
}

double fit(const std::vector<const float*>& masks, int P, const float* target, const std::vector<double>& previous, std::vector<double>& colours) {
  const int T = (int)masks.size();
  const std::vector<float> w = layerWeights(masks, P);
  std::vector<double> A(T * T), B(T * 3);
  for (int a = 0; a < T; a++) {
    const float* wa = &w[(size_t)a * P];
    for (int b = a; b < T; b++) {
      const float* wb = &w[(size_t)b * P];
      double s = 0;
      for (int i = 0; i < P; i++) s += (double)wa[i] * wb[i];
      A[a * T + b] = s;
      A[b * T + a] = s;
    }
    double r = 0, g = 0, bl = 0;
    for (int i = 0; i < P; i++) {
      r += (double)wa[i] * target[3 * i];
      g += (double)wa[i] * target[3 * i + 1];
      bl += (double)wa[i] * target[3 * i + 2];
    }
    B[a * 3] = r;
    B[a * 3 + 1] = g;
    B[a * 3 + 2] = bl;
  }
  double trace = 0;
  for (int a = 0; a < T; a++) trace += A[a * T + a];
  boxLeastSquares(A, B, T, 1e-9 * std::max(trace / std::max(T, 1), 1e-12), previous, colours);
  double se = 0;
  for (int i = 0; i < 3 * P; i++) se += (double)target[i] * target[i];
  for (int a = 0; a < T; a++)
    for (int k = 0; k < 3; k++) {
      const double xa = colours[a * 3 + k];
      double ax = 0;
      for (int b = 0; b < T; b++) ax += A[a * T + b] * colours[b * 3 + k];
      se += xa * (ax - 2 * B[a * 3 + k]);
    }
  return std::max(se, 0.0) / std::max(3 * P, 1);
}

}  // namespace shapeswaps

// swapShapes([T, S, D, maxSwaps, candidates, scoreExactly], db, masks [T·P], target [3P],
//            colours [T·3] (Float64Array, in/out), bankMasks [D·P], bankRows [D·2L], bankNorms [D],
//            origin (Int32Array [T], out)) -> swaps. Sizes checked by the caller (src/backend/native.ts).
Napi::Value SwapShapes(const Napi::CallbackInfo& info) {
  using namespace shapeswaps;
  const std::vector<int> dims = Ints(info[0]);
  const int T = dims[0], S = dims[1], D = dims[2], maxSwaps = dims[3], candidates = dims[4], scoreExactly = dims[5];
  const double db = info[1].As<Napi::Number>().DoubleValue();
  const float* masksIn = F32(info[2]);
  const float* target = F32(info[3]);
  double* coloursIO = info[4].As<Napi::Float64Array>().Data();
  const float* bankMasks = F32(info[5]);
  const float* bankRows = F32(info[6]);
  const float* bankNorms = F32(info[7]);
  int32_t* originOut = info[8].As<Napi::Int32Array>().Data();
  const int P = S * S, f = S % 2 ? 1 : 2, low = S / f, L = low * low;
  const double inv = 1.0 / (f * f);
  std::vector<const float*> masks(T);
  std::vector<int> origin(T), ident(T);
  for (int t = 0; t < T; t++) masks[t] = masksIn + (size_t)t * P, origin[t] = t, ident[t] = t;
  int nextIdent = T;
  std::vector<double> colours(coloursIO, coloursIO + 3 * T);
  // the starting mse with the given colours (mseOfColours(layerWeights(masks), colours, target))
  double mse;
  {
    // the definition sums layer by layer into a Float32Array image, bottom first
    std::vector<float> im(3 * (size_t)P, 0.f);
    const std::vector<float> wt = layerWeights(masks, P);
    for (int t = 0; t < T; t++)
      for (int i = 0; i < P; i++)
        for (int k = 0; k < 3; k++) im[3 * i + k] = (float)((double)im[3 * i + k] + colours[t * 3 + k] * wt[(size_t)t * P + i]);
    double s = 0;
    for (int i = 0; i < 3 * P; i++) s += ((double)im[i] - target[i]) * ((double)im[i] - target[i]);
    mse = s / (3.0 * P);
  }
  std::vector<char> failed((size_t)T + maxSwaps + 1, 0);
  std::vector<std::vector<float>> canvases(T, std::vector<float>(3 * (size_t)P)), above(T, std::vector<float>(P));
  std::vector<float> keep(P), zero(3 * (size_t)P, 0.f);
  int swaps = 0;
  struct Cand { int t; double se; };
  struct Top { int d, j; double e; };
  while (swaps < maxSwaps && T > 0) {
    for (int t = 0; t < T; t++) {
      float* c = canvases[t].data();
      const float* m = masks[t];
      const double c0 = colours[t * 3], c1 = colours[t * 3 + 1], c2 = colours[t * 3 + 2];
      if (t == 0) std::fill(canvases[0].begin(), canvases[0].end(), 0.f);
      else std::memcpy(c, canvases[t - 1].data(), sizeof(float) * 3 * P);
      // as src/core/blend.ts blendLayerInto: c·(1 − m) + colour·m
      for (int q = 0, i = 0; q < P; q++, i += 3) {
        const double a = m[q], k = 1.0 - a;
        c[i] = (float)(c[i] * k + c0 * a);
        c[i + 1] = (float)(c[i + 1] * k + c1 * a);
        c[i + 2] = (float)(c[i + 2] * k + c2 * a);
      }
    }
    std::fill(keep.begin(), keep.end(), 1.f);
    for (int t = T - 1; t >= 0; t--) {
      std::memcpy(above[t].data(), keep.data(), sizeof(float) * P);
      for (int q = 0; q < P; q++) keep[q] = (float)((double)keep[q] * (1.0 - (double)masks[t][q]));
    }
    const float* fin = canvases[T - 1].data();
    double base = 0;
    for (int i = 0; i < 3 * P; i++) base += ((double)fin[i] - target[i]) * ((double)fin[i] - target[i]);
    auto without = [&](int t, float* J) {
      const float* m = masks[t];
      const float* K = above[t].data();
      const float* under = t > 0 ? canvases[t - 1].data() : zero.data();
      const double c0 = colours[t * 3], c1 = colours[t * 3 + 1], c2 = colours[t * 3 + 2];
      double se = 0;
      for (int q = 0, i = 0; q < P; q++, i += 3) {
        const double w = (double)m[q] * K[q];
        const double j0 = fin[i] - w * (c0 - under[i]), j1 = fin[i + 1] - w * (c1 - under[i + 1]), j2 = fin[i + 2] - w * (c2 - under[i + 2]);
        if (J) J[i] = (float)j0, J[i + 1] = (float)j1, J[i + 2] = (float)j2;
        const double d0 = j0 - target[i], d1 = j1 - target[i + 1], d2 = j2 - target[i + 2];
        se += d0 * d0 + d1 * d1 + d2 * d2;
      }
      return se;
    };
    std::vector<Cand> loo;
    for (int t = 0; t < T; t++) {
      if (failed[ident[t]]) continue;
      const double se = without(t, nullptr);
      if (10 * std::log10(std::max(se, 1e-12) / std::max(base, 1e-12)) < db) loo.push_back({t, se});
    }
    if (loo.empty()) break;
    std::stable_sort(loo.begin(), loo.end(), [](const Cand& a, const Cand& b) { return a.se < b.se; });
    if ((int)loo.size() > candidates) loo.resize(candidates);
    const int nc = (int)loo.size(), N = 6 * nc;
    std::vector<std::vector<float>> Js(nc, std::vector<float>(3 * (size_t)P));
    std::vector<float> v((size_t)2 * L * N, 0.f);
    for (int j = 0; j < nc; j++) {
      float* J = Js[j].data();
      without(loo[j].t, J);
      for (int y = 0; y < low; y++)
        for (int x = 0; x < low; x++) {
          const size_t o = (size_t)(y * low + x) * N + 6 * j, o2 = o + (size_t)L * N;
          for (int k = 0; k < 3; k++) {
            double rj = 0, r = 0, jj = 0, jv = 0;
            for (int dy = 0; dy < f; dy++)
              for (int dx = 0; dx < f; dx++) {
                const int i = 3 * ((f * y + dy) * S + f * x + dx) + k;
                const double Jv = J[i], rv = target[i] - Jv;
                rj += rv * Jv, r += rv, jj += Jv * Jv, jv += Jv;
              }
            v[o + k] = (float)(2 * rj * inv);
            v[o + 3 + k] = (float)(r * inv);
            v[o2 + k] = (float)(jj * inv);
            v[o2 + 3 + k] = (float)(jv * inv);
          }
        }
    }
    std::vector<float> out((size_t)D * N);
    {
      const int threads = openblas_get_num_threads();
      openblas_set_num_threads(1);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, 2 * L, 1.f, bankRows, 2 * L, v.data(), N, 0.f, out.data(), N);
      openblas_set_num_threads(threads);
    }
    const double scale = (double)P / L;
    std::vector<Top> top;
    for (int d = 0; d < D; d++) {
      for (int j = 0; j < nc; j++) {
        const size_t b = (size_t)d * N + 6 * j;
        const double n2 = std::max((double)bankNorms[d] / scale, 1e-9);
        double e = loo[j].se / scale;
        for (int k = 0; k < 3; k++) e += (double)out[b + k] - (double)out[b + 3 + k] * out[b + 3 + k] / n2;
        if ((int)top.size() < scoreExactly || e < top.back().e) {
          top.push_back({d, j, e});
          std::stable_sort(top.begin(), top.end(), [](const Top& a, const Top& b) { return a.e < b.e; });
          if ((int)top.size() > scoreExactly) top.pop_back();
        }
      }
    }
    int bd = -1, bj = -1;
    double be = INFINITY;
    for (const Top& tp : top) {
      const float* m = bankMasks + (size_t)tp.d * P;
      const float* J = Js[tp.j].data();
      const double n2 = std::max((double)bankNorms[tp.d], 1e-9);
      double a = 0, e0 = 0, e1 = 0, e2 = 0;
      for (int q = 0, i = 0; q < P; q++, i += 3) {
        const double mq = m[q];
        if (mq == 0) continue;
        const double J0 = J[i], J1 = J[i + 1], J2 = J[i + 2];
        const double r0 = target[i] - J0, r1 = target[i + 1] - J1, r2 = target[i + 2] - J2;
        a += mq * (2 * (r0 * J0 + r1 * J1 + r2 * J2) + mq * (J0 * J0 + J1 * J1 + J2 * J2));
        e0 += mq * (r0 + mq * J0), e1 += mq * (r1 + mq * J1), e2 += mq * (r2 + mq * J2);
      }
      double e = a - (e0 * e0 + e1 * e1 + e2 * e2) / n2;
      for (double E : {e0, e1, e2}) {
        const double c = E / n2, k = std::min(1.0, std::max(0.0, c));
        e += n2 * (k - c) * (k - c);
      }
      e += loo[tp.j].se;
      if (e < be) be = e, bd = tp.d, bj = tp.j;
    }
    const int u = loo[bj].t;
    std::vector<const float*> m2;
    std::vector<double> prev;
    for (int t = 0; t < T; t++)
      if (t != u) m2.push_back(masks[t]), prev.insert(prev.end(), colours.begin() + 3 * t, colours.begin() + 3 * t + 3);
    m2.push_back(bankMasks + (size_t)bd * P);
    prev.insert(prev.end(), colours.begin() + 3 * u, colours.begin() + 3 * u + 3);
    std::vector<double> c2;
    const double e2 = fit(m2, P, target, prev, c2);
    if (e2 < mse * (1 - 1e-6)) {
      std::vector<int> o2, i2;
      for (int t = 0; t < T; t++)
        if (t != u) o2.push_back(origin[t]), i2.push_back(ident[t]);
      o2.push_back(-1 - bd);
      i2.push_back(nextIdent++);
      masks = m2, colours = c2, origin = o2, ident = i2, mse = e2;
      swaps++;
    } else failed[ident[u]] = 1;
  }
  for (int t = 0; t < T; t++) originOut[t] = origin[t];
  std::memcpy(coloursIO, colours.data(), sizeof(double) * 3 * T);
  return Napi::Number::New(info.Env(), swaps);
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

// maskAbi(): version of the mask kernels' calling convention (2: ε after dims, every size checked);
// the JavaScript side refuses an addon built from older sources (src/backend/native.ts)
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
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("blasCore", Napi::Function::New(env, BlasCore));
  exports.Set("blasThreading", Napi::Function::New(env, BlasThreading));
  exports.Set("flushesDenormals", Napi::Function::New(env, FlushesDenormals));
  return exports;
}

}  // namespace

NODE_API_MODULE(stratum_native, Init)
