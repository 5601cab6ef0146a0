// Convolutions in NHWC: im2col/col2im + one sgemm each for the forward, the input gradient and
// the filter gradient (with the taps that only ever see zero padding dropped on tiny maps), and
// max-pool's gradient, which walks the same window geometry. im2col is shared with the fused
// decomposition (decompose.cc). Sizes come from tfjs's own Conv2DInfo (src/backend/nativeKernels.ts).
#include "kernels.h"

namespace stratum {

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

// One GEMM against the gathered filter W [depth, CO], both directions:
//   conv2d(geom, x, w, y [N,OH,OW,CO]):               y  = patches(x) · W    (im2col; x itself when pointwise)
//   conv2dBackpropInput(geom, dy [N,OH,OW,CO], w, dx): dx = scatter(dy · Wᵀ)  (col2im; dx itself when pointwise)
static Napi::Value ConvGemm(const Napi::CallbackInfo& info, bool backward) {
  float* in = F32(info[1]);
  float* out = F32(info[3]);
  ConvCall cc(info[0], F32(info[2]));
  const ConvGeom& g = cc.r.g;
  const int rows = cc.rows, depth = cc.depth;
  float* cols = pointwise(g) ? nullptr : scratch(0, (size_t)rows * depth);
  if (!backward) {
    if (cols) im2col(in, g.N, g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, g.OH, g.OW, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g.CO, depth, 1.f, cols ? cols : in, depth, cc.w, g.CO, 0.f, out, g.CO);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, depth, g.CO, 1.f, in, g.CO, cc.w, g.CO, 0.f, cols ? cols : out, depth);
    if (cols) col2im(cols, g.N, g.H, g.W, g.C, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW, g.OH, g.OW, out);
  }
  return info.Env().Undefined();
}

Napi::Value Conv2D(const Napi::CallbackInfo& info) { return ConvGemm(info, false); }
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) { return ConvGemm(info, true); }

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

}  // namespace stratum
