// The mask MLP's forward (src/core/maskNet.ts) as fused kernels: GroupNorm + tanh over B images
// × P pixels (per image, per pixel, or with given statistics for tiled rendering), the first and
// hidden linear layers, maskForward and maskStats. maskForwardCore also runs every step of the
// fused decomposition (decompose.cc). Arguments are checked (args.h) before any of it runs.
#include "args.h"

namespace stratum {

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
void maskForwardCore(const MaskDims& d, const float* coords, const float* p, const std::vector<float*>& w, float* masks,
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

}  // namespace stratum
